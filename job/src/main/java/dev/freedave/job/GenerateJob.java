package dev.freedave.job;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sha2;

import dev.freedave.decode.DecodeConfig;
import dev.freedave.generate.GenerateSettings;
import dev.freedave.generate.OutputColumn;
import dev.freedave.spark.DecodeCounters;
import dev.freedave.spark.FreeDaveGenerator;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
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
    FreeDaveGenerator generator = cfg.generator();
    GenerateSettings settings = generator.settings();
    for (DecodeConfig d : cfg.decoders()) { // every check on the driver, before the first Spark job
      generator.setDecodeConfig(d).validate();
    }
    // config hashes like "cfg-1a2b" must stay strings when Spark reads the output back
    spark.conf().set("spark.sql.sources.partitionColumnTypeInference.enabled", "false");

    Input input = readInput(spark, cfg);
    Dataset<Row> rows = input.rows().cache();
    long total = rows.count();
    int partitions = cfg.partitions() > 0 ? cfg.partitions() : defaultPartitions(spark);
    String out = cfg.outputPath();
    dropUncommitted(spark, out);

    DecodeCounters counters = DecodeCounters.register(spark.sparkContext());
    generator.setCounters(counters);
    Column[] parquet = Arrays.stream(OutputColumn.values()).map(c -> col(c.column())).toArray(Column[]::new);
    Progress progress = new Progress(counters, total * cfg.decoders().size(), cfg.progressIntervalS());
    try {
      for (DecodeConfig d : cfg.decoders()) {
        String hash = settings.configHash(d);
        Dataset<Row> todo = rows;
        long pending = total;
        if (hasOutput(spark, out)) {
          Dataset<Row> done = spark.read().parquet(out).where(col(OutputColumn.CONFIG_HASH.column()).equalTo(hash))
              .select("id").distinct();
          todo = rows.join(done, rows.col("id").equalTo(done.col("id")), "left_anti");
          pending = todo.count();
        }
        progress.skip(total - pending);
        System.out.printf(Locale.ROOT, "freedave: %s [%s] %d of %d rows to decode%n", d.label(), hash, pending, total);
        if (pending > 0) {
          generator.setDecodeConfig(d).transform(todo.repartition(partitions, col("id"))).select(parquet)
              .write().mode(SaveMode.Append).partitionBy(OutputColumn.CONFIG_HASH.column()).parquet(out);
        }
        listener.committed(d, hash);
      }
    } finally {
      progress.stop();
      rows.unpersist();
    }
    RunSummary summary = RunSummary.compute(spark, out, settings, cfg.decoders(), total, input.malformed(),
        counters.modelLoads().value(), counters.forwards().value());
    summary.write(Path.of(out));
    return summary;
  }

  record Input(Dataset<Row> rows, long malformed) {}

  /** Reads any supported dataset into (id, prompt, answer, seed), counting lines it cannot parse. */
  static Input readInput(SparkSession spark, JobConfig cfg) throws IOException {
    String path = cfg.inputPath();
    if (path.isBlank()) {
      Path tmp = Files.createTempFile("freedave-samples", ".jsonl");
      try (InputStream in = GenerateJob.class.getResourceAsStream("/freedave/sample-prompts.jsonl")) {
        Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
      }
      tmp.toFile().deleteOnExit();
      path = tmp.toString();
    }
    String format = cfg.inputFormat().equals("auto") ? formatOf(path) : cfg.inputFormat();
    Dataset<Row> raw;
    long malformed = 0;
    switch (format) {
      case "json" -> {
        raw = spark.read().option("mode", "PERMISSIVE").option("columnNameOfCorruptRecord", "_corrupt_record")
            .json(path).cache();
        if (Arrays.asList(raw.columns()).contains("_corrupt_record")) {
          malformed = raw.where(col("_corrupt_record").isNotNull()).count();
          raw = raw.where(col("_corrupt_record").isNull());
        }
      }
      case "parquet" -> raw = spark.read().parquet(path);
      case "csv" -> {
        raw = spark.read().option("header", "true").option("mode", "PERMISSIVE").option("multiLine", "true")
            .option("escape", "\"").csv(path);
      }
      default -> throw new IllegalArgumentException("input.format must be auto, json, parquet or csv, got " + format);
    }
    List<String> cols = Arrays.asList(raw.columns());
    for (String need : List.of(cfg.idColumn(), cfg.promptColumn())) {
      if (!cols.contains(need)) {
        throw new IllegalArgumentException("input " + path + " has no column '" + need + "' (columns: " + cols + ")");
      }
    }
    // a missing id becomes a stable one derived from the prompt, so resume can still key on it
    Dataset<Row> rows = raw.select(
        coalesce(col(cfg.idColumn()).cast(DataTypes.StringType),
            concat(lit("anon-"), sha2(coalesce(col(cfg.promptColumn()).cast(DataTypes.StringType), lit("")), 256)))
            .as("id"),
        col(cfg.promptColumn()).cast(DataTypes.StringType).as("prompt"),
        (cols.contains(cfg.answerColumn()) ? col(cfg.answerColumn()).cast(DataTypes.StringType)
            : lit(null).cast(DataTypes.StringType)).as("answer"),
        (!cfg.seedColumn().isBlank() && cols.contains(cfg.seedColumn()) ? col(cfg.seedColumn()).cast(DataTypes.LongType)
            : lit(null).cast(DataTypes.LongType)).as("seed"));
    long dups = rows.groupBy("id").count().where(col("count").gt(1)).count();
    if (dups > 0) {
      throw new IllegalArgumentException("input " + path + " has " + dups + " ids that occur more than once; ids must be"
          + " unique so that every row is written exactly once per config");
    }
    return new Input(rows, malformed);
  }

  private static String formatOf(String path) {
    String p = path.toLowerCase(Locale.ROOT);
    if (p.endsWith(".parquet") || p.endsWith(".pq")) {
      return "parquet";
    }
    if (p.endsWith(".csv")) {
      return "csv";
    }
    if (p.endsWith(".jsonl") || p.endsWith(".json") || p.endsWith(".ndjson")) {
      return "json";
    }
    throw new IllegalArgumentException("cannot tell the format of " + path + "; set input.format");
  }

  private static int defaultPartitions(SparkSession spark) {
    var conf = spark.sparkContext().getConf();
    int executors = conf.getInt("spark.executor.instances", 0);
    int gpus = (int) conf.getDouble("spark.executor.resource.gpu.amount", 0);
    return executors > 0 && gpus > 0 ? executors * gpus : spark.sparkContext().defaultParallelism();
  }

  private static boolean hasOutput(SparkSession spark, String out) throws IOException {
    org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(out);
    FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
    return fs.exists(p) && fs.listStatus(p, f -> f.getName().startsWith("config_hash=")).length > 0;
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
