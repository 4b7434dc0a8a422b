package dev.freedave.job;

import static org.apache.spark.sql.functions.avg;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import com.google.gson.GsonBuilder;
import dev.freedave.decode.DecodeConfig;
import dev.freedave.generate.GenerateSettings;
import dev.freedave.generate.OutputColumn;
import dev.freedave.generate.OutputRow;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;

/**
 * The run summary, computed from the Parquet actually written (so a resumed run reports the whole
 * output) but only over this job's rows: its configs, and the ids and input hashes of its input.
 *
 * @param malformedExamples where and why, for the first few malformed lines
 * @param warnings rows in the output folder that this summary leaves out, and why
 */
public record RunSummary(long rows, long errors, long malformedLines, List<String> malformedExamples,
    List<String> warnings, Map<String, Integer> modelLoadsByJvm, long forwardCalls, long forwardCallsVetoed,
    List<Map<String, Object>> configs) {

  private static Column of(OutputColumn c) {
    return col(c.column());
  }

  /** Only over rows that decoded. */
  private static Column ok(Column c) {
    return when(of(OutputColumn.ERROR).isNull(), c);
  }

  /** @param ours this job's rows of the output */
  static RunSummary compute(Dataset<Row> ours, String out, GenerateSettings settings, List<DecodeConfig> decoders,
      long inputRows, long malformed, List<String> malformedExamples, List<String> warnings, List<String> loads,
      long forwardCalls, long forwardCallsVetoed) {
    // one aggregation over this job's rows, grouped by config
    Map<String, Row> byHash = new HashMap<>();
    for (Row g : ours.groupBy(of(OutputColumn.CONFIG_HASH)).agg(
        count(lit(1)).as("rows"),
        sum(when(of(OutputColumn.ERROR).isNotNull(), 1).otherwise(0)).as("errors"),
        avg(ok(of(OutputColumn.NFE))).as("mean_nfe"),
        avg(ok(of(OutputColumn.STATIC_STEPS))).as("mean_static_steps"),
        sum(ok(of(OutputColumn.STATIC_STEPS))).as("static_steps"),
        sum(ok(of(OutputColumn.NFE))).as("nfe"),
        sum(ok(of(OutputColumn.TPF).multiply(of(OutputColumn.NFE)))).as("tokens"),
        sum(ok(of(OutputColumn.DECODE_MS))).as("decode_ms"),
        avg(of(OutputColumn.CORRECT).cast(DataTypes.DoubleType)).as("accuracy"),
        avg(of(OutputColumn.MATCH_STATIC).cast(DataTypes.DoubleType)).as("exact_match")).collectAsList()) {
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
      long err = g.<Long>getAs("errors");
      errors += err;
      Long nfe = g.getAs("nfe");
      Long staticSteps = g.getAs("static_steps");
      Double tokens = g.getAs("tokens");
      Double ms = g.getAs("decode_ms");
      OutputRow.Run run = OutputRow.Run.of(d, settings.modelId(), hash);
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("decoder", run.decoder());
      m.put("draft_steps", run.draftSteps());
      m.put("block_length", run.blockLength());
      m.put("gen_length", run.genLength());
      m.put("threshold", run.threshold());
      m.put("cache", run.cache());
      m.put("config_hash", hash);
      m.put("rows", g.<Long>getAs("rows"));
      m.put("errors", err);
      m.put("mean_nfe", g.getAs("mean_nfe"));
      m.put("mean_static_steps", g.getAs("mean_static_steps"));
      m.put("nfe_speedup", nfe == null || nfe == 0 ? null : (double) staticSteps / nfe);
      m.put("tpf", nfe == null || nfe == 0 ? null : tokens / nfe);
      // per-row decode throughput; rows of a batch overlap in time, so this is not the job's wall rate
      m.put("tokens_per_s", ms == null || ms == 0 ? null : tokens / (ms / 1000));
      m.put("accuracy", g.getAs("accuracy"));
      m.put("exact_match", g.getAs("exact_match"));
      configs.add(m);
    }
    Map<String, Integer> byJvm = new TreeMap<>();
    for (String s : loads) {
      String[] kv = s.split(":");
      byJvm.merge(kv[0], Integer.parseInt(kv[1]), Math::max);
    }
    return new RunSummary(inputRows, errors, malformed, List.copyOf(malformedExamples), List.copyOf(warnings), byJvm,
        forwardCalls, forwardCallsVetoed, configs);
  }

  /** summary.json's fields, in its order. */
  Map<String, Object> fields() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("rows", rows);
    m.put("errors", errors);
    m.put("malformed_lines", malformedLines);
    m.put("malformed_examples", malformedExamples);
    m.put("warnings", warnings);
    m.put("model_loads_by_jvm", modelLoadsByJvm);
    m.put("forward_calls_this_run", forwardCalls);
    m.put("forward_calls_vetoed_this_run", forwardCallsVetoed);
    m.put("configs", configs);
    return m;
  }

  String json() {
    return new GsonBuilder().serializeNulls().create().toJson(fields());
  }

  String table() {
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "rows=%d errors=%d malformed_lines=%d%n", rows, errors, malformedLines));
    for (String m : malformedExamples) {
      b.append("malformed: ").append(m).append('\n');
    }
    for (String w : warnings) {
      b.append("WARNING: ").append(w).append('\n');
    }
    b.append('\n');
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
      replace(outDir, "summary.json", json() + "\n");
      replace(outDir, "summary.md", "# FreeDave run summary\n\n" + table());
    }
  }

  /**
   * Writes {@code dir/name} without following a link there: the text goes to a new file of a random
   * name (created exclusively) that is then renamed over the old entry, which replaces a symlink
   * itself instead of the file it points to, outside the output folder.
   */
  static void replace(Path dir, String name, String text) throws IOException {
    Path tmp = Files.createTempFile(dir, "." + name + "-", ".tmp");
    try {
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      try { // a temp file is owner-only; the summary and report are read as the Parquet beside them is
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
      } catch (UnsupportedOperationException notPosix) {
        // the file system's defaults stay
      }
      Files.move(tmp, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  private static String str(Object o) {
    return o == null ? "-" : o.toString();
  }

  private static String num(Object o) {
    return o == null ? "-" : String.format(Locale.ROOT, "%.3f", ((Number) o).doubleValue());
  }
}
