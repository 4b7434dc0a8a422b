package dev.freedave.job;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The Spark job: prompts in, decoded rows with forward-call statistics out, as Parquet plus a summary. */
@Command(name = "generate", mixinStandardHelpOptions = true,
    description = "Decode a prompt dataset with Spark and write Parquet + summary")
public final class GenerateCommand implements Callable<Integer> {
  @Option(names = "--config", description = "HOCON file (see conf/)") Path config;

  @Option(names = "--model", description = "model folder (default: the embedded default model)") String model;

  @Option(names = "--input", description = "JSONL, Parquet or CSV (default: bundled sample prompts)") String input;

  @Option(names = "--output", required = true, description = "output folder (Parquet + summary.json/md)")
  String output;

  @Option(names = "--master", description = "Spark master when not run by spark-submit") String master;

  @Option(names = "--partitions") Integer partitions;

  @Option(names = "--set", description = "override any config key, e.g. --set audit-static=true", mapFallbackValue = "")
  Map<String, String> sets = new LinkedHashMap<>();

  @Override
  public Integer call() throws Exception {
    Map<String, String> o = new LinkedHashMap<>(sets);
    putIf(o, "model.dir", model);
    putIf(o, "input.path", input);
    putIf(o, "output.path", output);
    putIf(o, "master", master);
    putIf(o, "partitions", partitions == null ? null : partitions.toString());
    JobConfig cfg = JobConfig.load(config, o);
    SparkSession.Builder b = SparkSession.builder().appName("freedave-generate");
    if (System.getProperty("spark.master") == null) {
      b.master(cfg.master()); // spark-submit sets spark.master; a plain `java` run uses the config's
    }
    SparkSession spark = b.getOrCreate();
    try {
      RunSummary s = GenerateJob.run(spark, cfg, GenerateJob.CommitListener.NONE);
      System.out.println(s.table());
      System.out.println(s.json());
      return 0;
    } finally {
      spark.stop();
    }
  }

  private static void putIf(Map<String, String> m, String k, String v) {
    if (v != null) {
      m.put(k, v);
    }
  }
}
