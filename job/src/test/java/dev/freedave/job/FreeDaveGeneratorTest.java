package dev.freedave.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.freedave.generate.OutputColumn;
import dev.freedave.spark.FreeDaveGenerator;
import dev.freedave.testkit.TinyModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Spark API a user calls from their own program: a DataFrame of prompts in, the result columns out. */
class FreeDaveGeneratorTest {
  static SparkSession spark;
  @TempDir static Path tmp;

  @BeforeAll
  static void setUp() {
    spark = JobFixtures.localSpark("transformer");
  }

  @AfterAll
  static void tearDown() {
    spark.stop();
  }

  @Test
  void transformAppendsTheResultColumnsToEveryRowAndDecodesLikeTheJob() throws Exception {
    JobFixtures fx = new JobFixtures(tmp);
    // a user's own columns: other names, an extra column that must come through untouched
    StructType schema = new StructType().add("qid", DataTypes.StringType).add("question", DataTypes.StringType)
        .add("source", DataTypes.IntegerType);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      rows.add(RowFactory.create("q" + i, "what is " + i + " + " + (i % 3) + " ?", 100 + i));
    }
    rows.add(RowFactory.create("empty", "", 200));
    Dataset<Row> prompts = spark.createDataFrame(rows, schema).repartition(3);

    FreeDaveGenerator generator = new FreeDaveGenerator().setModel(fx.model.toString()).setInputCol("question")
        .setIdCol("qid").setDecoder("freedave").setDraftSteps(4).setBlockLength(4).setGenLength(8).setCache("dual")
        .setAuditStatic(true).setMaxRowsInFlight(3);
    Dataset<Row> out = generator.transform(prompts);

    List<String> expected = new ArrayList<>(List.of("qid", "question", "source"));
    Arrays.stream(OutputColumn.values()).filter(c -> !c.fromInput()).forEach(c -> expected.add(c.column()));
    assertThat(out.schema().fieldNames()).containsExactlyElementsOf(expected);
    List<Row> got = out.collectAsList();
    assertThat(got).hasSize(rows.size());
    assertThat(got).extracting(r -> r.<String>getAs("qid")).containsExactlyInAnyOrder(
        rows.stream().map(r -> r.getString(0)).toArray(String[]::new));
    Map<String, Integer> source = new HashMap<>();
    rows.forEach(r -> source.put(r.getString(0), r.getInt(2)));
    for (Row r : got) {
      assertThat(r.<Integer>getAs("source")).isEqualTo(source.get(r.<String>getAs("qid")));
    }
    Row empty = got.stream().filter(r -> r.getAs("qid").equals("empty")).findFirst().orElseThrow();
    assertThat(empty.<String>getAs("error")).contains("empty prompt");
    assertThat(empty.<String>getAs("finish_reason")).isEqualTo("error");

    // the job on the same prompts, same decoder, same model: the same tokens for every row
    Path input = tmp.resolve("same.jsonl");
    List<String> lines = new ArrayList<>();
    for (Row r : rows) {
      lines.add(new com.google.gson.Gson().toJson(Map.of("id", r.getString(0), "prompt", r.getString(1))));
    }
    java.nio.file.Files.write(input, lines);
    Path jobOut = tmp.resolve("job");
    GenerateJob.run(spark, fx.config(jobOut, Map.of("input.path", input.toString(), "decoders",
        "[{decoder = freedave, draft-steps = 4, block-length = 4, gen-length = 8, cache = dual}]")),
        GenerateJob.CommitListener.NONE);
    Map<String, List<Object>> fromJob = new HashMap<>();
    for (Row r : spark.read().parquet(jobOut.toString()).collectAsList()) {
      fromJob.put(r.getAs("id"), r.getList(r.fieldIndex("completion_token_ids")));
    }
    for (Row r : got) {
      assertThat(r.getList(r.fieldIndex("completion_token_ids"))).as(r.<String>getAs("qid"))
          .isEqualTo(fromJob.get(r.<String>getAs("qid")));
      if (r.getAs("error") == null) {
        assertThat(r.<Boolean>getAs("match_static")).isTrue();
      }
    }
  }

  @Test
  void aWrongPromptColumnOrModelFailsOnTheDriver() throws Exception {
    Path model = TinyModels.write(tmp.resolve("m"), TinyModels.Spec.llada(4));
    Dataset<Row> numbers = spark.createDataFrame(List.of(RowFactory.create("a", 5)),
        new StructType().add("id", DataTypes.StringType).add("prompt", DataTypes.IntegerType));
    long jobs = spark.sparkContext().statusTracker().getJobIdsForGroup(null).length;
    assertThatThrownBy(() -> new FreeDaveGenerator().setModel(model.toString()).transform(numbers))
        .hasMessageContaining("column 'prompt' is int, expected a string");
    Dataset<Row> text = spark.createDataFrame(List.of(RowFactory.create("a", "hello")),
        new StructType().add("id", DataTypes.StringType).add("prompt", DataTypes.StringType));
    assertThatThrownBy(() -> new FreeDaveGenerator().setModel(tmp.resolve("nowhere").toString()).transform(text))
        .hasMessageContaining("does not exist");
    assertThatThrownBy(() -> new FreeDaveGenerator().setModel(model.toString()).setDtype("flaot16").transform(text))
        .hasMessageContaining("unknown compute dtype 'flaot16'");
    assertThat(spark.sparkContext().statusTracker().getJobIdsForGroup(null).length).isEqualTo(jobs);
  }
}
