package dev.freedave.job;

import dev.freedave.testkit.TinyModels;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/** A tiny model, a prompt file with good and bad rows, and helpers the job tests share. */
final class JobFixtures {
  static final int GOOD = 10;
  static final String SWEEP = "[{decoder = freedave, draft-steps = 4, block-length = 4, gen-length = 8, cache = dual},"
      + " {decoder = static, block-length = 8, gen-length = 8}]";

  final Path model;
  final Path input;

  JobFixtures(Path dir) throws IOException {
    model = TinyModels.write(dir.resolve("model"), TinyModels.Spec.llada(9));
    input = dir.resolve("prompts.jsonl");
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < GOOD; i++) {
      lines.add("{\"id\": \"q" + i + "\", \"prompt\": \"what is " + i + " + " + (i % 3) + " ?\", \"answer\": \""
          + (i + i % 3) + "\"}");
    }
    lines.add("{\"id\": \"empty\", \"prompt\": \"\"}");
    lines.add("{\"id\": \"null\", \"prompt\": null}");
    lines.add("{\"id\": \"too-long\", \"prompt\": \"" + "the ".repeat(600) + "\"}");
    lines.add("{\"id\": \"broken\", \"prompt\": \"unterminated");
    Files.write(input, lines, StandardCharsets.UTF_8);
  }

  /** The sweep over the fixture input into {@code out}, with the static audit on. */
  JobConfig config(Path out, Map<String, String> extra) {
    Map<String, String> o = new LinkedHashMap<>();
    o.put("model.dir", model.toString());
    o.put("input.path", input.toString());
    o.put("output.path", out.toString());
    o.put("partitions", "3");
    // a fixed K: these runs are compared field by field, and the adaptive budget's draft counts
    // (never its tokens) depend on measured forward times
    o.put("batching.draft-budget", "off");
    o.put("audit-static", "true");
    o.put("progress-interval-s", "0");
    o.put("decoders", SWEEP);
    o.putAll(extra);
    return JobConfig.load(null, o);
  }

  /** The tests' Spark: local[2], no UI, two shuffle partitions. */
  static SparkSession localSpark(String app) {
    return SparkSession.builder().master("local[2]").appName(app).config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2").getOrCreate();
  }

  /** Output rows without the timing column, sorted, as comparable strings. */
  static List<String> content(SparkSession spark, Path out) {
    List<String> rows = new ArrayList<>();
    for (Row r : spark.read().parquet(out.toString()).drop("decode_ms").orderBy("config_hash", "id").collectAsList()) {
      rows.add(r.toString());
    }
    return rows;
  }
}
