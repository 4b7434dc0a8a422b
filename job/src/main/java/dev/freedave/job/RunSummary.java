package dev.freedave.job;

import static org.apache.spark.sql.functions.avg;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import com.google.gson.GsonBuilder;
import dev.freedave.batch.GenerateSettings;
import dev.freedave.decode.DecodeConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;

/** The run summary, computed from the Parquet actually written (so a resumed run reports the whole output). */
record RunSummary(long rows, long errors, long malformedLines, Map<String, Integer> modelLoadsByJvm,
    long forwardCalls, List<Map<String, Object>> configs) {

  static RunSummary compute(SparkSession spark, String out, GenerateSettings settings, List<DecodeConfig> decoders,
      long inputRows, long malformed, List<String> loads, long forwardCalls) {
    // one aggregation over the whole output, grouped by config
    Map<String, Row> byHash = new java.util.HashMap<>();
    for (Row g : spark.read().parquet(out).groupBy("config_hash").agg(
        count("*"),
        sum(when(col("error").isNotNull(), 1).otherwise(0)),
        avg(when(col("error").isNull(), col("nfe"))),
        avg(when(col("error").isNull(), col("static_steps"))),
        sum(when(col("error").isNull(), col("static_steps"))),
        sum(when(col("error").isNull(), col("nfe"))),
        sum(when(col("error").isNull(), col("tpf").multiply(col("nfe")))),
        sum(when(col("error").isNull(), col("decode_ms"))),
        avg(col("correct").cast(DataTypes.DoubleType)),
        avg(col("match_static").cast(DataTypes.DoubleType))).collectAsList()) {
      byHash.put(g.getString(0), g);
    }
    List<Map<String, Object>> configs = new ArrayList<>();
    long errors = 0;
    for (DecodeConfig d : decoders) {
      String hash = settings.configHash(d);
      Row g = byHash.get(hash);
      if (g == null) {
        throw new IllegalStateException("no output rows for " + d.label() + " [" + hash + "] in " + out);
      }
      // drop the key so the indexes below are those of the aggregates
      Row r = org.apache.spark.sql.RowFactory.create(java.util.Arrays.copyOfRange(
          scala.jdk.javaapi.CollectionConverters.asJava(g.toSeq()).toArray(), 1, g.length()));
      long rowsOut = r.getLong(0);
      long err = r.isNullAt(1) ? 0 : r.getLong(1);
      errors += err;
      double tokens = r.isNullAt(6) ? 0 : r.getDouble(6);
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("decoder", d.method().label);
      m.put("draft_steps", d.method().drafts() ? d.draftSteps() : null);
      m.put("block_length", d.blockLength());
      m.put("gen_length", d.genLength());
      m.put("threshold", d.method().thresholdBased() ? d.threshold() : null);
      m.put("cache", d.cache().label());
      m.put("config_hash", hash);
      m.put("rows", rowsOut);
      m.put("errors", err);
      m.put("mean_nfe", r.isNullAt(2) ? null : r.getDouble(2));
      m.put("mean_static_steps", r.isNullAt(3) ? null : r.getDouble(3));
      m.put("nfe_speedup", r.isNullAt(5) || r.getLong(5) == 0 ? null : (double) r.getLong(4) / r.getLong(5));
      m.put("tpf", r.isNullAt(5) || r.getLong(5) == 0 ? null : tokens / r.getLong(5));
      // per-row decode throughput; rows of a batch overlap in time, so this is not the job's wall rate
      m.put("tokens_per_s", r.isNullAt(7) || r.getDouble(7) == 0 ? null : tokens / (r.getDouble(7) / 1000));
      m.put("accuracy", r.isNullAt(8) ? null : r.getDouble(8));
      m.put("exact_match", r.isNullAt(9) ? null : r.getDouble(9));
      configs.add(m);
    }
    Map<String, Integer> byJvm = new TreeMap<>();
    for (String s : loads) {
      String[] kv = s.split(":");
      byJvm.merge(kv[0], Integer.parseInt(kv[1]), Math::max);
    }
    return new RunSummary(inputRows, errors, malformed, byJvm, forwardCalls, configs);
  }

  String json() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("rows", rows);
    m.put("errors", errors);
    m.put("malformed_lines", malformedLines);
    m.put("model_loads_by_jvm", modelLoadsByJvm);
    m.put("forward_calls_this_run", forwardCalls);
    m.put("configs", configs);
    return new GsonBuilder().serializeNulls().create().toJson(m);
  }

  String table() {
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "rows=%d errors=%d malformed_lines=%d%n%n", rows, errors, malformedLines));
    b.append("| decoder | K | block | gen | tau | cache | rows | errors | mean_nfe | mean_static_steps | nfe_speedup | tpf "
        + "| tokens/s | accuracy | exact_match |\n");
    b.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (Map<String, Object> c : configs) {
      b.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n",
          c.get("decoder"), str(c.get("draft_steps")), c.get("block_length"), c.get("gen_length"),
          str(c.get("threshold")), c.get("cache"), c.get("rows"), c.get("errors"), num(c.get("mean_nfe")),
          num(c.get("mean_static_steps")), num(c.get("nfe_speedup")), num(c.get("tpf")), num(c.get("tokens_per_s")),
          num(c.get("accuracy")), num(c.get("exact_match"))));
    }
    return b.toString();
  }

  void write(Path outDir) throws IOException {
    if (Files.isDirectory(outDir)) { // local or mounted output; on HDFS/S3 the printed copy is the record
      Files.writeString(outDir.resolve("summary.json"), json() + "\n", StandardCharsets.UTF_8);
      Files.writeString(outDir.resolve("summary.md"), "# FreeDave run summary\n\n" + table(), StandardCharsets.UTF_8);
    }
  }

  private static String str(Object o) {
    return o == null ? "-" : o.toString();
  }

  private static String num(Object o) {
    return o == null ? "-" : String.format(Locale.ROOT, "%.3f", ((Number) o).doubleValue());
  }
}
