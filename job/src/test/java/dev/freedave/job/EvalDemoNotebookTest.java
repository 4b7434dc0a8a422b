package dev.freedave.job;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.freedave.decode.DecodeConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The committed notebooks/analyze_run.ipynb was executed on the committed conf/eval-demo.conf run
 * (docs/eval-demo/): every code cell ran without an error, and the summary it reproduced from the
 * Parquet carries summary.json's numbers, config by config.
 */
class EvalDemoNotebookTest {
  static final Path ROOT = Path.of("..");

  @Test
  void theNotebooksNumbersAreTheEvalDemoRunsSummary() throws Exception {
    JsonObject nb = JsonParser.parseString(Files.readString(ROOT.resolve("notebooks/analyze_run.ipynb")))
        .getAsJsonObject();
    JsonObject reproduced = null;
    int executed = 0;
    for (JsonElement e : nb.getAsJsonArray("cells")) {
      JsonObject cell = e.getAsJsonObject();
      if (!cell.get("cell_type").getAsString().equals("code")) {
        continue;
      }
      executed++;
      assertThat(cell.get("execution_count").getAsInt()).isEqualTo(executed);
      for (JsonElement o : cell.getAsJsonArray("outputs")) {
        JsonObject out = o.getAsJsonObject();
        assertThat(out.get("output_type").getAsString()).isNotEqualTo("error");
        if (out.get("output_type").getAsString().equals("stream")) {
          for (String line : text(out.getAsJsonArray("text")).split("\n")) {
            if (line.startsWith("SUMMARY_JSON ")) {
              reproduced = JsonParser.parseString(line.substring("SUMMARY_JSON ".length())).getAsJsonObject();
            }
          }
        }
      }
    }
    assertThat(executed).isGreaterThan(5);
    assertThat(reproduced).as("the notebook's SUMMARY_JSON line").isNotNull();

    JsonObject summary = JsonParser.parseString(Files.readString(ROOT.resolve("docs/eval-demo/summary.json")))
        .getAsJsonObject();
    JsonArray configs = summary.getAsJsonArray("configs");
    assertThat(reproduced.keySet()).hasSize(configs.size());
    for (JsonElement e : configs) {
      JsonObject c = e.getAsJsonObject();
      JsonObject mine = reproduced.getAsJsonObject(c.get("config_hash").getAsString());
      assertThat(mine).as(c.get("config_hash").getAsString()).isNotNull();
      for (String k : mine.keySet()) {
        JsonElement expected = c.get(k);
        if (expected.isJsonNull()) {
          assertThat(mine.get(k).isJsonNull()).as(k).isTrue();
        } else {
          double v = expected.getAsDouble();
          assertThat(mine.get(k).getAsDouble()).as(c.get("config_hash") + " " + k)
              .isCloseTo(v, org.assertj.core.data.Offset.offset(1e-9 * Math.max(1, Math.abs(v))));
        }
      }
    }

    // and that run is conf/eval-demo.conf's: its 500 rows, its decoders in its order
    JobConfig demo = JobConfig.load(ROOT.resolve("conf/eval-demo.conf"), Map.of("output.path", "unused"));
    List<DecodeConfig> decoders = demo.decoders();
    assertThat(summary.get("rows").getAsLong()).isEqualTo(500);
    assertThat(configs).hasSize(decoders.size());
    for (int i = 0; i < decoders.size(); i++) {
      JsonObject c = configs.get(i).getAsJsonObject();
      DecodeConfig d = decoders.get(i);
      assertThat(c.get("decoder").getAsString()).isEqualTo(d.method().label);
      assertThat(c.get("block_length").getAsInt()).isEqualTo(d.blockLength());
      assertThat(c.get("gen_length").getAsInt()).isEqualTo(d.genLength());
      assertThat(c.get("rows").getAsLong()).isEqualTo(500);
      if (d.method().drafts()) {
        assertThat(c.get("draft_steps").getAsInt()).isEqualTo(d.draftSteps());
      }
    }
  }

  private static String text(JsonArray lines) {
    StringBuilder b = new StringBuilder();
    lines.forEach(l -> b.append(l.getAsString()));
    return b.toString();
  }
}
