package dev.freedave.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.freedave.testkit.TinyModels;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/**
 * The job against hostile but fair inputs (the corpus under {@code resources/hostile/}, and files
 * generated here where a format needs it): every input row accounted for, a clear error naming the
 * row, file or key, nothing silently wrong.
 */
class HostileInputTest extends LocalSparkJobTest {
  static final String LM_HEAD = "model.transformer.ff_out.weight";
  static final String ONE = "[{decoder = freedave, draft-steps = 4, block-length = 4, gen-length = 8}]";

  /** A corpus file copied out of the test resources. */
  static Path corpus(String name) throws IOException {
    Path p = tmp.resolve("corpus").resolve(name);
    Files.createDirectories(p.getParent());
    try (InputStream in = HostileInputTest.class.getResourceAsStream("/hostile/" + name)) {
      Files.copy(in, p, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
    return p;
  }

  static Map<String, String> with(Object... kv) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("decoders", ONE);
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], kv[i + 1].toString());
    }
    return m;
  }

  static RunSummary run(Path out, Map<String, String> overrides) throws IOException {
    return GenerateJob.run(spark, fx.config(out, overrides), GenerateJob.CommitListener.NONE);
  }

  /** The output's rows by id. */
  static Map<String, Row> rows(Path out) {
    Map<String, Row> m = new HashMap<>();
    for (Row r : spark.read().parquet(out.toString()).collectAsList()) {
      assertThat(m.put(r.getAs("id"), r)).as("id %s twice", r.<String>getAs("id")).isNull();
    }
    return m;
  }

  static long jobs() {
    return spark.sparkContext().statusTracker().getJobIdsForGroup(null).length;
  }

  @Test
  void idsKeepTheirExactInputText() throws Exception {
    Path out = tmp.resolve("ids");
    RunSummary s = run(out, with("input.path", corpus("ids.jsonl")));
    // before: 2 and 2.0 both became "2.0" and the two 20-digit ids one 1.2345678901234567E19
    assertThat(rows(out).keySet()).containsExactlyInAnyOrder("2", "2.0", "12345678901234567890",
        "12345678901234567891", "-0.5e3");
    assertThat(s.errors()).isZero();
  }

  @Test
  void aPromptThatIsNotAStringIsThatRowsErrorAndTheOthersAreUntouched() throws Exception {
    Path out = tmp.resolve("types");
    RunSummary s = run(out, with("input.path", corpus("prompt-types.jsonl")));
    Map<String, Row> r = rows(out);
    assertThat(r).hasSize(8);
    assertThat(s.rows()).isEqualTo(8);
    assertThat(r.get("text").<String>getAs("error")).isNull();
    assertThat(r.get("text").<String>getAs("prompt")).isEqualTo("what is 6 + 1 ?");
    assertThat(r.get("text").<Boolean>getAs("correct")).isNotNull(); // the answer 7, a JSON number, was read
    assertThat(r.get("int").<String>getAs("error")).isEqualTo("prompt must be a string, got a number 13");
    assertThat(r.get("float").<String>getAs("error")).isEqualTo("prompt must be a string, got a number 1.5");
    assertThat(r.get("bool").<String>getAs("error")).isEqualTo("prompt must be a string, got a boolean true");
    assertThat(r.get("array").<String>getAs("error")).isEqualTo("prompt must be a string, got an array");
    assertThat(r.get("object").<String>getAs("error")).isEqualTo("prompt must be a string, got an object");
    assertThat(r.get("null").<String>getAs("error")).isEqualTo("null or empty prompt");
    assertThat(r.get("answer-object").<String>getAs("error")).isEqualTo(
        "answer must be a string or a number, got an object");
    for (String id : List.of("int", "float", "bool", "array", "object", "null", "answer-object")) {
      assertThat(r.get(id).<String>getAs("finish_reason")).isEqualTo("error");
    }
    for (String id : List.of("int", "float", "bool", "array", "object")) {
      assertThat(r.get(id).<String>getAs("prompt")).isNull(); // never a stringified value
    }
  }

  @Test
  void aLineThatIsNotOneObjectIsMalformedAndTheRestDecodes() throws Exception {
    Path out = tmp.resolve("keys");
    RunSummary s = run(out, with("input.path", corpus("keys.jsonl")));
    Map<String, Row> r = rows(out);
    // a repeated key, text after the object, an array line: malformed; the blank line: nothing
    assertThat(s.malformedLines()).isEqualTo(3);
    assertThat(String.join("\n", s.malformedExamples())).contains("the key 'prompt' occurs twice")
        .contains("not valid JSON (at column 50): '{\"id\": \"trailing\"").contains("not a JSON object: '[1, 2, 3]'")
        .contains(corpus("keys.jsonl").getFileName().toString());
    assertThat(r.keySet()).contains("ok-1", "ok-2", "ok-3").hasSize(4);
    Row upper = r.values().stream().filter(x -> x.<String>getAs("id").startsWith("anon-")).findFirst().orElseThrow();
    assertThat(upper.<String>getAs("error")).isEqualTo("the record has no field 'prompt'; 'Prompt' differs only in "
        + "case, and names are case-sensitive (its fields: ID, Prompt)");
    assertThat(s.rows()).isEqualTo(4);
    assertThat(s.errors()).isEqualTo(1);
  }

  @Test
  void rowsWithoutIdsGetStableAnonIdsInEveryFormat() throws Exception {
    Path parquet = tmp.resolve("no-ids.parquet");
    spark.createDataFrame(List.of(RowFactory.create("what is 2 + 1 ?", "3"), RowFactory.create("what is 2 + 2 ?", "4")),
        new StructType().add("prompt", DataTypes.StringType).add("answer", DataTypes.StringType))
        .write().parquet(parquet.toString());
    for (Path in : List.of(corpus("no-ids.jsonl"), corpus("no-ids.csv"), parquet)) {
      Path out = tmp.resolve("anon-" + in.getFileName());
      run(out, with("input.path", in));
      Map<String, Row> r = rows(out);
      assertThat(r).isNotEmpty();
      for (Row row : r.values()) {
        assertThat(row.<String>getAs("id")).isEqualTo(PromptRecord.anonId(row.getAs("prompt")));
        assertThat(row.<String>getAs("error")).isNull();
      }
    }
    // the CSV's first prompt spans two lines inside quotes
    assertThat(rows(tmp.resolve("anon-no-ids.csv")).values()).extracting(x -> x.<String>getAs("prompt"))
        .contains("what is\n1 + 1 ?");
  }

  @Test
  void anUnclosedCsvQuoteCostsOnlyItsOwnRecord() throws Exception {
    Path out = tmp.resolve("csv");
    RunSummary s = run(out, with("input.path", corpus("unclosed.csv")));
    Map<String, Row> r = rows(out);
    assertThat(r.keySet()).containsExactlyInAnyOrder("b", "c", "d"); // before: a swallowed b and c, silently
    assertThat(r.get("c").<String>getAs("prompt")).isEqualTo("what is \"3\" + 3 ?");
    assertThat(s.malformedLines()).isEqualTo(1);
    assertThat(s.malformedExamples().get(0)).contains("unclosed.csv:2: a closing quote is followed by 'w'");
  }

  @Test
  void parquetColumnsOfTheWrongTypeAreRefusedAndIntegerIdsKeptExactly() throws Exception {
    Map<String, StructType> wrong = new LinkedHashMap<>();
    wrong.put("column 'prompt' is int; it must hold strings",
        new StructType().add("id", DataTypes.StringType).add("prompt", DataTypes.IntegerType));
    wrong.put("column 'prompt' is array<string>; it must hold strings",
        new StructType().add("id", DataTypes.StringType).add("prompt", DataTypes.createArrayType(DataTypes.StringType)));
    wrong.put("column 'prompt' is binary; it must hold strings",
        new StructType().add("id", DataTypes.StringType).add("prompt", DataTypes.BinaryType));
    wrong.put("column 'id' is double; it must hold strings or integers",
        new StructType().add("id", DataTypes.DoubleType).add("prompt", DataTypes.StringType));
    int i = 0;
    for (Map.Entry<String, StructType> w : wrong.entrySet()) {
      Path in = tmp.resolve("wrong-" + i++ + ".parquet");
      Object[] values = w.getValue().fields()[0].dataType() == DataTypes.DoubleType ? new Object[] {2.0, "hi"}
          : new Object[] {"a", w.getValue().fields()[1].dataType() == DataTypes.IntegerType ? 13
              : w.getValue().fields()[1].dataType() == DataTypes.BinaryType ? new byte[] {104, 105}
              : scala.jdk.javaapi.CollectionConverters.asScala(List.of("hi")).toSeq()};
      spark.createDataFrame(List.of(RowFactory.create(values)), w.getValue()).write().parquet(in.toString());
      long before = jobs();
      assertThatThrownBy(() -> run(tmp.resolve("never"), with("input.path", in))).hasMessageContaining(w.getKey())
          .hasMessageContaining(in.toString());
      assertThat(tmp.resolve("never")).doesNotExist();
      assertThat(jobs() - before).isLessThanOrEqualTo(1); // the schema read, no decoding
    }
    Path longs = tmp.resolve("longs.parquet");
    spark.createDataFrame(List.of(RowFactory.create(12345678901234567L, "what is 1 + 1 ?"),
            RowFactory.create(2L, "what is 2 + 2 ?")),
        new StructType().add("id", DataTypes.LongType).add("prompt", DataTypes.StringType))
        .write().parquet(longs.toString());
    Path out = tmp.resolve("longs-out");
    run(out, with("input.path", longs));
    assertThat(rows(out).keySet()).containsExactlyInAnyOrder("12345678901234567", "2");
  }

  @Test
  void anInputWithNothingToReadIsRefusedWithTheReason() throws Exception {
    assertThatThrownBy(() -> run(tmp.resolve("never"), with("input.path", corpus("pretty.json"))))
        .hasMessageContaining("none of its 10 lines can be read").hasMessageContaining("JSON Lines")
        .hasMessageContaining("pretty.json");
    Path questions = tmp.resolve("questions.jsonl");
    Files.writeString(questions, "{\"id\": \"a\", \"question\": \"what is 1 + 1 ?\"}\n");
    assertThatThrownBy(() -> run(tmp.resolve("never"), with("input.path", questions)))
        .hasMessageContaining("no row has the prompt field 'prompt'").hasMessageContaining("its fields: id, question")
        .hasMessageContaining("input.prompt-column");
    Path empty = tmp.resolve("empty.jsonl");
    Files.writeString(empty, "\n\n");
    assertThatThrownBy(() -> run(tmp.resolve("never"), with("input.path", empty))).hasMessageContaining("holds no rows");
    assertThat(tmp.resolve("never")).doesNotExist();
  }

  @Test
  void configTyposAndImpossibleValuesAreRefusedBeforeAnyDecoding() throws Exception {
    assertThatThrownBy(() -> fx.config(tmp.resolve("never"), Map.of("gen_length", "16")))
        .hasMessage("unknown config key freedave.gen_length: decoder params go in a decoders entry, e.g. decoders = "
            + "[{decoder = freedave, gen-length = ...}]");
    assertThatThrownBy(() -> fx.config(tmp.resolve("never"), Map.of("batching.max-rows-in-flite", "4")))
        .hasMessageContaining("unknown config key freedave.batching.max-rows-in-flite; did you mean "
            + "batching.max-rows-in-flight?");
    // a plain value for a section: alone, it is an unknown key; beside the section's own keys, it hides the defaults
    assertThatThrownBy(() -> JobConfig.load(null, Map.of("input", "x.jsonl")))
        .hasMessageContaining("unknown config key freedave.input: it is a section");
    assertThatThrownBy(() -> fx.config(tmp.resolve("never"), Map.of("input", "x.jsonl")))
        .hasMessageContaining("freedave.input was set to a plain value somewhere");
    assertThatThrownBy(() -> fx.config(tmp.resolve("never"), Map.of("decoders",
        "[{decoder = freedave, gen_length = 16, block_length = 4}]")))
        .hasMessageContaining("unknown key 'gen_length' in decoder config").hasMessageContaining("did you mean gen-length?");

    long before = jobs();
    assertThatThrownBy(() -> run(tmp.resolve("never"), with("batching.max-sequences-per-forward", "8", "decoders",
        "[{decoder = freedave, draft-steps = 16, block-length = 16, gen-length = 16}]")))
        .hasMessageContaining("draft_steps 16 exceeds max sequences per forward 8");
    assertThatThrownBy(() -> run(tmp.resolve("never"), with("decoders",
        "[{decoder = static, block-length = 2147483640, gen-length = 2147483640}]")))
        .hasMessageContaining("gen_length 2147483640 leaves no room for a prompt in the model's context of 512");

    Path badHeader = TinyModels.write(tmp.resolve("bad-header"), TinyModels.Spec.llada(1));
    byte[] h = "{\"t\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [-8, 0]}}".getBytes(StandardCharsets.UTF_8);
    Files.write(badHeader.resolve("model.safetensors"), ByteBuffer.allocate(8 + h.length + 8)
        .order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h).array());
    assertThatThrownBy(() -> run(tmp.resolve("never"), with("model.dir", badHeader)))
        .hasMessageContaining("is not usable").hasMessageContaining("inconsistent offsets [-8, 0)");
    assertThat(jobs()).isEqualTo(before);
    assertThat(tmp.resolve("never")).doesNotExist();
  }

  @Test
  void brokenWeightsFailTheJobOrEveryRowNeverLookLikeASpeedup() throws Exception {
    Path nan = TinyModels.write(tmp.resolve("nan-model"), TinyModels.Spec.llada(9));
    TinyModels.editTensor(nan, LM_HEAD, v -> v[3] = Float.NaN);
    assertThatThrownBy(() -> run(tmp.resolve("nan-out"), with("model.dir", nan)))
        .hasStackTraceContaining("holds a non-finite value (NaN or Inf)");

    Path huge = TinyModels.write(tmp.resolve("huge-model"), TinyModels.Spec.llada(9));
    TinyModels.editTensor(huge, LM_HEAD, v -> {
      for (int i = 0; i < v.length; i++) {
        v[i] = Math.copySign(3e38f, v[i]);
      }
    });
    RunSummary s = run(tmp.resolve("huge-out"), with("model.dir", huge));
    assertThat(s.errors()).isEqualTo(s.rows());
    assertThat(s.configs().get(0).get("nfe_speedup")).isNull();
    assertThat(rows(tmp.resolve("huge-out")).get("q0").<String>getAs("error")).contains("logits are not finite");
  }

  @Test
  void resumeRedoesWhatChangedAndRefusesWhatItCannotReplace() throws Exception {
    Path out = tmp.resolve("resume");
    RunSummary first = run(out, with());
    long n = first.rows();
    // the same job again: nothing to do
    assertThat(run(out, with()).configs().get(0).get("rows")).isEqualTo(n);
    assertThat(spark.read().parquet(out.toString()).count()).isEqualTo(n);

    // the audit switched off: other conditions, other rows (before: "0 of N rows to decode")
    RunSummary noAudit = run(out, with("audit-static", "false"));
    assertThat(spark.read().parquet(out.toString()).select("config_hash").distinct().count()).isEqualTo(2);
    assertThat(noAudit.configs().get(0).get("rows")).isEqualTo(n);
    assertThat(noAudit.warnings()).singleElement().asString().contains("rows of 1 other config");

    // another checkpoint in a folder of the same name: its rows are decoded, not reused
    Path other = TinyModels.write(tmp.resolve("elsewhere").resolve("model"), TinyModels.Spec.llada(10));
    run(out, with("model.dir", other));
    assertThat(spark.read().parquet(out.toString()).select("config_hash").distinct().count()).isEqualTo(3);

    // a changed prompt under an existing id: refused before anything is decoded
    Path changed = tmp.resolve("changed.jsonl");
    List<String> lines = Files.readAllLines(fx.input);
    lines.set(0, lines.get(0).replace("what is 0 + 0 ?", "what is 9 + 9 ?"));
    Files.write(changed, lines);
    long rowsBefore = spark.read().parquet(out.toString()).count();
    assertThatThrownBy(() -> run(out, with("input.path", changed)))
        .hasMessageContaining("decoded from another prompt, answer or seed under the same id (q0)")
        .hasMessageContaining("write to a new output path");
    assertThat(spark.read().parquet(out.toString()).count()).isEqualTo(rowsBefore);

    // another input into the same folder: its summary counts its own rows, and says what else is there
    Path another = tmp.resolve("another.jsonl");
    Files.writeString(another, "{\"id\": \"z0\", \"prompt\": \"what is 7 + 7 ?\"}\n"
        + "{\"id\": \"z1\", \"prompt\": \"what is 8 + 8 ?\"}\n");
    RunSummary s = run(out, with("input.path", another));
    assertThat(s.rows()).isEqualTo(2);
    assertThat(s.configs().get(0).get("rows")).isEqualTo(2L);
    assertThat(String.join("\n", s.warnings())).contains("ids that are not in this input");
  }

  @Test
  void theSummaryReplacesALinkInsteadOfWritingThroughIt() throws Exception {
    Path out = Files.createDirectories(tmp.resolve("linked"));
    Path victim = tmp.resolve("victim.txt");
    Files.writeString(victim, "keep me");
    Files.createSymbolicLink(out.resolve("summary.json"), victim);
    Files.createSymbolicLink(out.resolve("summary.md"), victim);
    run(out, with());
    assertThat(Files.readString(victim)).isEqualTo("keep me");
    assertThat(Files.isSymbolicLink(out.resolve("summary.json"))).isFalse();
    assertThat(Files.readString(out.resolve("summary.json"))).contains("\"configs\"");
  }
}
