package dev.freedave.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.freedave.spark.SparkColumns;
import dev.freedave.testkit.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

/** The generate job end to end on local[2] with a tiny model. */
class GenerateJobTest extends LocalSparkJobTest {
  static final int GOOD = JobFixtures.GOOD;

  static JobConfig config(Path out, String rowsInFlight) {
    return fx.config(out, rowsInFlight == null ? Map.of() : Map.of("batching.max-rows-in-flight", rowsInFlight));
  }

  static List<String> content(Path out) {
    return JobFixtures.content(spark, out);
  }

  @Test
  void sweepWritesEveryRowOncePerConfigWithConsistentStats() throws Exception {
    Path out = tmp.resolve("out");
    RunSummary s = GenerateJob.run(spark, config(out, null), GenerateJob.CommitListener.NONE);
    assertThat(s.rows()).isEqualTo(GOOD + 3);
    assertThat(s.malformedLines()).isEqualTo(1);
    assertThat(s.errors()).isEqualTo(2 * 3);
    assertThat(s.modelLoadsByJvm().values()).containsOnly(1);
    assertThat(s.forwardCalls()).isPositive();
    assertThat(s.forwardCallsVetoed()).isBetween(0L, s.forwardCalls());
    assertThat(out.resolve("summary.json")).exists();
    assertThat(out.resolve("summary.md")).exists();

    Dataset<Row> d = spark.read().parquet(out.toString());
    assertThat(d.count()).isEqualTo(2L * (GOOD + 3));
    assertThat(d.groupBy("id", "config_hash").count().where("count > 1").count()).isZero();
    // the schema, column for column (config_hash comes back as the partition column, last)
    assertThat(d.schema().fieldNames()).containsExactly(SparkColumns.schema().fieldNames());
    assertThat(d.schema().apply("config_hash").dataType()).isEqualTo(org.apache.spark.sql.types.DataTypes.StringType);

    Dataset<Row> ok = d.where("error is null");
    assertThat(ok.count()).isEqualTo(2L * GOOD);
    assertThat(ok.where("static_steps < nfe or tpf <= 0 or nfe <= 0").count()).isZero();
    assertThat(ok.where("match_static = false").count()).isZero();
    assertThat(ok.where("decoder = 'static' and nfe != static_steps").count()).isZero();
    assertThat(ok.where("size(completion_token_ids) != gen_length").count()).isZero();
    // the FreeDave config runs with the dual cache, and its audit with the same cache
    assertThat(ok.where("decoder = 'freedave' and cache != 'dual'").count()).isZero();
    assertThat(ok.where("decoder = 'static' and cache != 'none'").count()).isZero();
    assertThat(ok.where("correct is null").count()).isZero();

    Dataset<Row> bad = d.where("error is not null");
    assertThat(bad.select("id").distinct().collectAsList()).extracting(r -> r.getString(0))
        .containsExactlyInAnyOrder("empty", "null", "too-long");
    assertThat(bad.where("finish_reason != 'error' or match_static is not null").count()).isZero();
    assertThat(bad.where("id = 'too-long'").first().<String>getAs("error")).contains("exceeds the model's context");
  }

  @Test
  void resumeAfterACrashGivesTheCleanRunsOutput() throws Exception {
    Path clean = tmp.resolve("clean");
    GenerateJob.run(spark, config(clean, "3"), GenerateJob.CommitListener.NONE);

    Path resumed = tmp.resolve("resumed");
    GenerateJob.CommitListener crashAfterFirst = (config, hash) -> {
      throw new IllegalStateException("injected failure after " + config.label());
    };
    assertThatThrownBy(() -> GenerateJob.run(spark, config(resumed, "3"), crashAfterFirst))
        .hasMessageContaining("injected failure");
    long afterCrash = spark.read().parquet(resumed.toString()).count();
    assertThat(afterCrash).isEqualTo(GOOD + 3);
    // a task that committed into _temporary before the crash must not be promoted later
    Path stale = resumed.resolve("_temporary/0/task_0/config_hash=cfg-stale");
    Files.createDirectories(stale);
    Files.copy(Files.list(clean).filter(p -> p.getFileName().toString().startsWith("config_hash=")).findFirst()
        .orElseThrow().toFile().listFiles((dir, n) -> n.endsWith(".parquet"))[0].toPath(), stale.resolve("x.parquet"));

    RunSummary s = GenerateJob.run(spark, config(resumed, "3"), GenerateJob.CommitListener.NONE);
    assertThat(s.rows()).isEqualTo(GOOD + 3);
    assertThat(content(resumed)).isEqualTo(content(clean));

    // a third run finds everything written and adds nothing
    GenerateJob.run(spark, config(resumed, "3"), GenerateJob.CommitListener.NONE);
    assertThat(content(resumed)).isEqualTo(content(clean));
  }

  @Test
  void duckDbReadsTheParquet() throws Exception {
    Path out = tmp.resolve("duck");
    GenerateJob.run(spark, config(out, null), GenerateJob.CommitListener.NONE);
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement st = c.createStatement()) {
      String glob = out.resolve("*/*.parquet").toString();
      ResultSet rs = st.executeQuery("SELECT count(*), count(DISTINCT config_hash), sum(CASE WHEN error IS NULL"
          + " THEN 0 ELSE 1 END), min(len(completion_token_ids)) FILTER (WHERE error IS NULL),"
          + " bool_and(static_steps >= nfe) FROM read_parquet('" + glob + "', hive_partitioning = true)");
      assertThat(rs.next()).isTrue();
      assertThat(rs.getLong(1)).isEqualTo(2L * (GOOD + 3));
      assertThat(rs.getLong(2)).isEqualTo(2);
      assertThat(rs.getLong(3)).isEqualTo(6);
      assertThat(rs.getInt(4)).isEqualTo(8);
      assertThat(rs.getBoolean(5)).isTrue();
      ResultSet hist = st.executeQuery("SELECT accepted_hist, tpf, match_static FROM read_parquet('" + glob
          + "', hive_partitioning = true) WHERE decoder = 'freedave' AND error IS NULL LIMIT 1");
      assertThat(hist.next()).isTrue();
      Object[] h = (Object[]) hist.getArray(1).getArray();
      assertThat(h.length).isEqualTo(5); // index 0 unused, then 1..K=4
      assertThat(hist.getDouble(2)).isGreaterThan(0);
      assertThat(hist.getBoolean(3)).isTrue();
    }
  }

  @Test
  void badModelFolderFailsOnTheDriverBeforeAnyTask() throws Exception {
    Path broken = tmp.resolve("broken");
    TinyModels.write(broken, TinyModels.Spec.llada(1));
    Files.delete(broken.resolve("model.safetensors"));
    Map<String, String> o = new LinkedHashMap<>();
    o.put("model.dir", broken.toString());
    o.put("input.path", fx.input.toString());
    o.put("output.path", tmp.resolve("never").toString());
    long jobsBefore = spark.sparkContext().statusTracker().getJobIdsForGroup(null).length;
    assertThatThrownBy(() -> GenerateJob.run(spark, JobConfig.load(null, o), GenerateJob.CommitListener.NONE))
        .hasMessageContaining("is not usable").hasMessageContaining("no model.safetensors");
    assertThat(spark.sparkContext().statusTracker().getJobIdsForGroup(null).length).isEqualTo(jobsBefore);
    assertThat(tmp.resolve("never")).doesNotExist();
    o.put("model.dir", fx.model.toString());
    o.put("decoders", "[{decoder = freedave, block-length = 3, gen-length = 8}]");
    assertThatThrownBy(() -> JobConfig.load(null, o)).hasMessageContaining("multiple of block_length 3");
    o.remove("decoders");
    o.put("model.dtype", "flaot16");
    assertThatThrownBy(() -> JobConfig.load(null, o)).hasMessage("model.dtype: unknown compute dtype 'flaot16' "
        + "(float32, float16)");
    assertThat(spark.sparkContext().statusTracker().getJobIdsForGroup(null).length).isEqualTo(jobsBefore);
  }
}
