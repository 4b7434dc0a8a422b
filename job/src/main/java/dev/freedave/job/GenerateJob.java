package dev.freedave.job;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import dev.freedave.decode.DecodeConfig;
import dev.freedave.generate.GenerateSettings;
import dev.freedave.generate.OutputColumn;
import dev.freedave.spark.DecodeCounters;
import dev.freedave.spark.FreeDaveGenerator;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;

/**
 * read → validate → repartition → decode per config ({@link FreeDaveGenerator}) → append Parquet
 * partitioned by config_hash → summary. Each config is its own Spark job that commits on success, so
 * a rerun into the same output skips the (id, config_hash) pairs already there and writes only the rest.
 */
public final class GenerateJob {
  private GenerateJob() {}

  /** Told after each decoder config's rows are committed (a test stops the job there, as a crash would). */
  public interface CommitListener {
    CommitListener NONE = (config, hash) -> {};

    void committed(DecodeConfig config, String configHash);
  }

  public static RunSummary run(SparkSession spark, JobConfig cfg, CommitListener listener) throws IOException {
    if (cfg.outputPath().isBlank()) {
      throw new IllegalArgumentException("output.path (--output) is required");
    }
    FreeDaveGenerator generator = cfg.generator().setInputErrorCol("input_error");
    GenerateSettings settings = generator.settings();
    List<String> hashes = new ArrayList<>();
    for (DecodeConfig d : cfg.decoders()) { // every check on the driver, before the first Spark job
      generator.setDecodeConfig(d).validate();
      hashes.add(settings.configHash(d));
    }
    // config hashes like "cfg-1a2b" must stay strings when Spark reads the output back
    spark.conf().set("spark.sql.sources.partitionColumnTypeInference.enabled", "false");

    InputReader.Input input = InputReader.read(spark, cfg);
    Dataset<Row> rows = input.rows();
    try {
      return decodeAndSummarise(spark, cfg, listener, generator, hashes, input);
    } finally {
      rows.unpersist();
    }
  }

  private static RunSummary decodeAndSummarise(SparkSession spark, JobConfig cfg, CommitListener listener,
      FreeDaveGenerator generator, List<String> hashes, InputReader.Input input) throws IOException {
    Dataset<Row> rows = input.rows();
    Dataset<Row> keys = rows.select("id", "input_hash");
    long total = rows.count();
    int partitions = cfg.partitions() > 0 ? cfg.partitions() : defaultPartitions(spark);
    String out = cfg.outputPath();
    dropUncommitted(spark, out);
    refuseChangedRows(spark, out, keys, hashes);

    DecodeCounters counters = DecodeCounters.register(spark.sparkContext());
    generator.setCounters(counters);
    Column[] parquet = Arrays.stream(OutputColumn.values()).map(c -> col(c.column())).toArray(Column[]::new);
    Progress progress = new Progress(counters, total * cfg.decoders().size(), cfg.progressIntervalS());
    try {
      for (int i = 0; i < cfg.decoders().size(); i++) {
        DecodeConfig d = cfg.decoders().get(i);
        String hash = hashes.get(i);
        Dataset<Row> todo = rows;
        long pending = total;
        if (hasOutput(spark, out)) {
          Dataset<Row> done = output(spark, out).where(col(OutputColumn.CONFIG_HASH.column()).equalTo(hash))
              .select("id").distinct();
          todo = rows.join(done, rows.col("id").equalTo(done.col("id")), "left_anti");
          pending = todo.count();
        }
        progress.skip(total - pending);
        System.out.printf(Locale.ROOT, "freedave: %s [%s] %d of %d rows to decode%n", d.label(), hash, pending, total);
        if (pending > 0) {
          generator.setDecodeConfig(d).transform(todo.drop("input_hash").repartition(partitions, col("id")))
              .select(parquet)
              .write().mode(SaveMode.Append).partitionBy(OutputColumn.CONFIG_HASH.column()).parquet(out);
        }
        listener.committed(d, hash);
      }
    } finally {
      progress.stop();
    }
    Dataset<Row> written = output(spark, out);
    Dataset<Row> ours = written.where(col(OutputColumn.CONFIG_HASH.column()).isin(hashes.toArray()))
        .join(keys, seq("id", "input_hash"), "left_semi");
    List<String> warnings = foreignRows(written, ours, out);
    RunSummary summary = RunSummary.compute(ours, out, generator.settings(), cfg.decoders(), total,
        input.malformed(), input.malformedExamples(), warnings, counters.modelLoads().value(),
        counters.forwards().value(), counters.forwardsVetoed().value());
    summary.write(Path.of(out));
    writeReport(ours, summary, generator, cfg, out);
    return summary;
  }

  /**
   * report.html beside the summary. It only draws rows already written and summarised, so a failure
   * to draw it (a driver without fonts for AWT, say) is a warning, never a failed job.
   */
  private static void writeReport(Dataset<Row> ours, RunSummary summary, FreeDaveGenerator generator, JobConfig cfg,
      String out) {
    try {
      RunReport.compute(ours, summary, generator.settings(), cfg.decoders()).write(Path.of(out), out);
    } catch (IOException | RuntimeException | LinkageError e) {
      System.out.println("freedave: WARNING report.html not written: " + e);
    }
  }

  /**
   * The job's output as Spark reads it: its config_hash=* partitions only (never the summary files
   * beside them), schemas merged, since parts written by an older version may lack newer columns.
   */
  static Dataset<Row> output(SparkSession spark, String out) throws IOException {
    String[] parts = Arrays.stream(partitions(spark, out)).map(f -> f.getPath().toString()).toArray(String[]::new);
    return spark.read().option("basePath", out).option("mergeSchema", "true").parquet(parts);
  }

  private static FileStatus[] partitions(SparkSession spark, String out) throws IOException {
    org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(out);
    FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
    String prefix = OutputColumn.CONFIG_HASH.column() + "=";
    return fs.exists(p) ? fs.listStatus(p, f -> f.getName().startsWith(prefix)) : new FileStatus[0];
  }

  private static scala.collection.immutable.Seq<String> seq(String... columns) {
    return scala.jdk.javaapi.CollectionConverters.asScala(List.of(columns)).toSeq();
  }

  /**
   * Refuses, before decoding anything, an output that holds a row of this job's (id, config) decoded
   * from another prompt, answer or seed: resume cannot replace it (Parquet is appended to), and
   * keeping both would put two rows for one id in one config.
   */
  private static void refuseChangedRows(SparkSession spark, String out, Dataset<Row> keys, List<String> hashes)
      throws IOException {
    if (!hasOutput(spark, out)) {
      return;
    }
    Dataset<Row> done = output(spark, out).where(col(OutputColumn.CONFIG_HASH.column()).isin(hashes.toArray()));
    if (!Arrays.asList(done.columns()).contains(OutputColumn.INPUT_HASH.column())) {
      done = done.withColumn(OutputColumn.INPUT_HASH.column(), lit(null).cast(DataTypes.StringType));
    }
    Dataset<Row> changed = done.select(col("id").as("done_id"), col("input_hash").as("done_hash"))
        .join(keys, col("done_id").equalTo(keys.col("id")))
        .where(col("done_hash").isNull().or(col("done_hash").notEqual(keys.col("input_hash"))));
    long n = changed.count();
    if (n > 0) {
      List<String> ids = changed.select("done_id").distinct().limit(5).as(Encoders.STRING()).collectAsList();
      throw new IllegalArgumentException("output " + out + " already holds " + n + " rows of this job's configs "
          + "decoded from another prompt, answer or seed under the same id (" + String.join(", ", ids) + "); resume "
          + "cannot replace written rows: write to a new output path, or delete " + out);
    }
  }

  /** Loud notes on rows in the folder that this run's summary leaves out: other configs, other inputs. */
  private static List<String> foreignRows(Dataset<Row> written, Dataset<Row> ours, String out) {
    List<String> notes = new ArrayList<>();
    String hash = OutputColumn.CONFIG_HASH.column();
    List<String> otherConfigs = written.select(hash).distinct()
        .join(ours.select(hash).distinct(), seq(hash), "left_anti").as(Encoders.STRING()).collectAsList();
    long otherConfigRows = otherConfigs.isEmpty() ? 0 : written.where(col(hash).isin(otherConfigs.toArray())).count();
    long otherInputRows = written.count() - otherConfigRows - ours.count();
    if (otherConfigRows > 0) {
      notes.add(String.format(Locale.ROOT, "output %s also holds %d rows of %d other config(s) %s: another job "
          + "(model, dtype, template, decoder or audit) wrote them; this summary leaves them out", out,
          otherConfigRows, otherConfigs.size(), otherConfigs));
    }
    if (otherInputRows > 0) {
      notes.add(String.format(Locale.ROOT, "output %s also holds %d rows of this job's configs for ids that are not "
          + "in this input: another input was written here; this summary leaves them out", out, otherInputRows));
    }
    for (String n : notes) {
      System.out.println("freedave: WARNING " + n);
    }
    return notes;
  }

  private static int defaultPartitions(SparkSession spark) {
    var conf = spark.sparkContext().getConf();
    int executors = conf.getInt("spark.executor.instances", 0);
    int gpus = (int) conf.getDouble("spark.executor.resource.gpu.amount", 0);
    return executors > 0 && gpus > 0 ? executors * gpus : spark.sparkContext().defaultParallelism();
  }

  private static boolean hasOutput(SparkSession spark, String out) throws IOException {
    return partitions(spark, out).length > 0;
  }

  /**
   * A run killed between a task's commit and its job's commit leaves files under _temporary; the
   * next job's commit would promote them. Nothing there was ever committed, so drop it.
   */
  private static void dropUncommitted(SparkSession spark, String out) throws IOException {
    org.apache.hadoop.fs.Path tmp = new org.apache.hadoop.fs.Path(out, "_temporary");
    FileSystem fs = tmp.getFileSystem(spark.sparkContext().hadoopConfiguration());
    if (fs.exists(tmp)) {
      System.out.println("freedave: removing uncommitted files of an interrupted run: " + tmp);
      fs.delete(tmp, true);
    }
  }
}
