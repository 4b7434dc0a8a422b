package dev.freedave.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.freedave.decode.DecodeConfig;
import dev.freedave.generate.GenerateSettings;
import dev.freedave.model.ComputeDtype;
import dev.freedave.text.ChatTemplate;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The line and record readers on their own, and what the resume key covers (no Spark). */
class InputParsersTest {
  static final PromptRecord.Fields FIELDS = new PromptRecord.Fields("id", "prompt", "answer", "seed");

  @Test
  void jsonLinesKeepExactTextAndTellRowProblemsFromMalformedLines() {
    PromptRecord r = JsonLines.parse("\uFEFF{\"id\": 1e2, \"prompt\": \"p\", \"answer\": 42.50, \"seed\": -7}", "f:1",
        FIELDS);
    assertThat(r).isEqualTo(PromptRecord.row("1e2", "p", "42.50", -7L, null));
    assertThat(JsonLines.parse("   ", "f:2", FIELDS)).isNull();
    assertThat(JsonLines.parse("{\"prompt\": \"p\", \"seed\": 1.5}", "f", FIELDS).problem())
        .isEqualTo("seed must be an integer, got a number 1.5");
    assertThat(JsonLines.parse("{\"prompt\": \"p\", \"seed\": 99999999999999999999}", "f", FIELDS).problem())
        .startsWith("seed must be an integer");
    assertThat(JsonLines.parse("{\"id\": [1], \"prompt\": \"p\"}", "f", FIELDS).problem())
        .isEqualTo("id must be a string or a number, got an array");
    assertThat(JsonLines.parse("{\"prompt\": \"p\"}", "f", FIELDS).id()).isEqualTo(PromptRecord.anonId("p"));
    // malformed: never a row
    for (String bad : List.of("{\"prompt\": \"p\"", "{'prompt': 'p'}", "{\"prompt\": \"p\",}", "\"just text\"",
        "{\"a\": 1, \"a\": 2, \"prompt\": \"p\"}", "{\"prompt\": NaN}")) {
      PromptRecord m = JsonLines.parse(bad, "in.jsonl", FIELDS);
      assertThat(m.malformed()).as(bad).startsWith("in.jsonl: ");
      assertThat(m.id()).isNull();
    }
  }

  @Test
  void csvIsStrictAboutQuotesAndResumesAtTheNextLine() {
    String text = "id,prompt,answer\r\n"
        + "a,\"one, \"\"two\"\"\",1\r\n"      // commas and doubled quotes inside quotes
        + "b,\"multi\nline\",2\n"              // a quoted line break
        + "c,\"bad\" tail,3\n"                 // text after a closing quote
        + "d,only two\n"                       // too few fields
        + "\n"                                 // blank
        + "e,\"never closed,5\n"
        + "f,plain,6\n";
    List<PromptRecord> out = CsvRecords.parse(text, "x.csv", FIELDS);
    assertThat(out.stream().filter(r -> r.malformed() == null).map(PromptRecord::id)).containsExactly("a", "b", "f");
    assertThat(out.get(0).prompt()).isEqualTo("one, \"two\"");
    assertThat(out.get(1).prompt()).isEqualTo("multi\nline");
    assertThat(out.stream().map(PromptRecord::malformed).filter(m -> m != null)).containsExactly(
        "x.csv:5: a closing quote is followed by ' ' (an unescaped quote inside a quoted field?)",
        "x.csv:6: 2 fields where the header has 3",
        "x.csv:8: a quoted field opened on line 8 is never closed");
    assertThatThrownBy(() -> CsvRecords.parse("prompt,prompt\nx,y\n", "d.csv", FIELDS))
        .hasMessage("CSV file d.csv: the header names 'prompt' twice");
    assertThatThrownBy(() -> CsvRecords.parse("", "e.csv", FIELDS)).hasMessage("CSV file e.csv has no header row");
  }

  @Test
  void theConfigHashCoversEverythingButTheRowThatDecidesAnOutput() {
    GenerateSettings base = new GenerateSettings("m", ComputeDtype.FLOAT32, "cpu", "model", "fp1", ChatTemplate.NONE,
        false, 8, 64, "auto");
    DecodeConfig d = DecodeConfig.of(DecodeConfig.Method.FREEDAVE, 16, 8, 4, 0.9);
    Set<String> hashes = new HashSet<>();
    for (GenerateSettings s : List.of(base,
        new GenerateSettings("m", ComputeDtype.FLOAT16, "cpu", "model", "fp1", ChatTemplate.NONE, false, 8, 64, "auto"),
        new GenerateSettings("m", ComputeDtype.FLOAT32, "cpu", "model", "fp2", ChatTemplate.NONE, false, 8, 64, "auto"),
        new GenerateSettings("m", ComputeDtype.FLOAT32, "cpu", "other", "fp1", ChatTemplate.NONE, false, 8, 64, "auto"),
        new GenerateSettings("m", ComputeDtype.FLOAT32, "cpu", "model", "fp1", ChatTemplate.LLADA, false, 8, 64, "auto"),
        new GenerateSettings("m", ComputeDtype.FLOAT32, "cpu", "model", "fp1", ChatTemplate.NONE, true, 8, 64, "auto"))) {
      hashes.add(s.configHash(d));
    }
    hashes.add(base.configHash(d.withMethod(DecodeConfig.Method.STATIC)));
    assertThat(hashes).hasSize(7);
    // what only schedules the work does not change the rows, so it keeps the hash
    assertThat(new GenerateSettings("/elsewhere/m", ComputeDtype.FLOAT32, "gpu", "model", "fp1", ChatTemplate.NONE,
        false, 2, 16, "off").configHash(d)).isEqualTo(base.configHash(d));
  }
}
