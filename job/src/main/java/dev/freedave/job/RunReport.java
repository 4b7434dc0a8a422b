package dev.freedave.job;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.collect_set;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.floor;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.posexplode;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.sort_array;
import static org.apache.spark.sql.functions.sum;

import com.google.gson.GsonBuilder;
import dev.freedave.decode.DecodeConfig;
import dev.freedave.generate.GenerateSettings;
import dev.freedave.generate.OutputColumn;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.expressions.Window;

/**
 * What report.html shows, computed like the summary from the Parquet written (a resumed run reports
 * every row) over this job's rows only. Every distribution is aggregated by Spark; the driver receives
 * counts per value, never the rows.
 *
 * @param summary the numbers of summary.json
 * @param configs per decoder config, in the job's order
 * @param errors the failed rows grouped by message, most frequent first
 */
record RunReport(RunSummary summary, List<ConfigDetail> configs, List<ErrorGroup> errors) {
  /** Width of the bins of the per-row NFE speedup (static_steps / nfe) histogram. */
  static final double SPEEDUP_BIN = 0.25;
  /** Example ids shown per error message. */
  static final int EXAMPLES = 3;

  /**
   * One decoder config's distributions over its decoded rows.
   *
   * @param nfePerRow rows by their NFE
   * @param speedupPerRow rows by the lower edge of their static_steps / nfe bin ({@link #SPEEDUP_BIN} wide)
   * @param acceptedChains the sum of accepted_hist over the rows: [i] = rounds that advanced i static
   *     steps (index 0 unused); null for decoders that draft nothing
   */
  record ConfigDetail(String label, String configHash, String decoder, Integer draftSteps, int blockLength,
      String cache, TreeMap<Integer, Long> nfePerRow, TreeMap<Double, Long> speedupPerRow, long[] acceptedChains) {}

  /** Rows that failed with one message: how many, the first few ids (in id order) and the configs. */
  record ErrorGroup(String message, long rows, List<String> exampleIds, List<String> configs) {}

  private static Column of(OutputColumn c) {
    return col(c.column());
  }

  static RunReport compute(Dataset<Row> ours, RunSummary summary, GenerateSettings settings,
      List<DecodeConfig> decoders) {
    String hash = OutputColumn.CONFIG_HASH.column();
    Dataset<Row> ok = ours.where(of(OutputColumn.ERROR).isNull());

    Map<String, TreeMap<Integer, Long>> nfe = new HashMap<>();
    for (Row r : ok.groupBy(of(OutputColumn.CONFIG_HASH), of(OutputColumn.NFE)).count().collectAsList()) {
      nfe.computeIfAbsent(r.getString(0), k -> new TreeMap<>()).put(r.getInt(1), r.getLong(2));
    }

    Map<String, TreeMap<Double, Long>> speedup = new HashMap<>();
    Column bin = floor(of(OutputColumn.STATIC_STEPS).cast("double").divide(of(OutputColumn.NFE)).divide(SPEEDUP_BIN));
    for (Row r : ok.where(of(OutputColumn.NFE).gt(0)).groupBy(of(OutputColumn.CONFIG_HASH), bin.as("bin")).count()
        .collectAsList()) {
      speedup.computeIfAbsent(r.getString(0), k -> new TreeMap<>()).put(r.getLong(1) * SPEEDUP_BIN, r.getLong(2));
    }

    Map<String, TreeMap<Integer, Long>> accepted = new HashMap<>();
    for (Row r : ok.select(of(OutputColumn.CONFIG_HASH), posexplode(of(OutputColumn.ACCEPTED_HIST)))
        .groupBy(hash, "pos").agg(sum("col")).collectAsList()) {
      accepted.computeIfAbsent(r.getString(0), k -> new TreeMap<>()).put(r.getInt(1), r.getLong(2));
    }

    List<ConfigDetail> configs = new ArrayList<>();
    Map<String, String> labels = new HashMap<>();
    for (DecodeConfig d : decoders) {
      String h = settings.configHash(d);
      labels.put(h, d.label());
      long[] chains = null;
      if (d.method().drafts()) {
        chains = new long[d.draftSteps() + 1];
        for (Map.Entry<Integer, Long> e : accepted.getOrDefault(h, new TreeMap<>()).entrySet()) {
          if (e.getKey() < chains.length) {
            chains[e.getKey()] = e.getValue();
          }
        }
      }
      configs.add(new ConfigDetail(d.label(), h, d.method().label, d.method().drafts() ? d.draftSteps() : null,
          d.blockLength(), d.cache().label(), nfe.getOrDefault(h, new TreeMap<>()),
          speedup.getOrDefault(h, new TreeMap<>()), chains));
    }
    return new RunReport(summary, configs, errorGroups(ours, labels));
  }

  private static List<ErrorGroup> errorGroups(Dataset<Row> ours, Map<String, String> labels) {
    String error = OutputColumn.ERROR.column();
    String id = OutputColumn.ID.column();
    Dataset<Row> failed = ours.where(col(error).isNotNull());
    Map<String, List<String>> examples = new HashMap<>();
    for (Row r : failed.select(error, id).distinct()
        .withColumn("n", row_number().over(Window.partitionBy(error).orderBy(id)))
        .where(col("n").leq(EXAMPLES)).orderBy(error, id).collectAsList()) {
      examples.computeIfAbsent(r.getString(0), k -> new ArrayList<>()).add(r.getString(1));
    }
    List<ErrorGroup> groups = new ArrayList<>();
    for (Row r : failed.groupBy(error).agg(count(lit(1)), sort_array(collect_set(of(OutputColumn.CONFIG_HASH))))
        .collectAsList()) {
      List<String> configs = new ArrayList<>();
      for (String h : r.<String>getList(2)) {
        configs.add(labels.getOrDefault(h, h));
      }
      groups.add(new ErrorGroup(r.getString(0), r.getLong(1), examples.get(r.getString(0)), configs));
    }
    groups.sort(Comparator.comparingLong(ErrorGroup::rows).reversed().thenComparing(ErrorGroup::message));
    return groups;
  }

  /** The report's numbers as JSON, embedded in the page (and what a resumed run is compared by). */
  String json() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("summary", summary.fields());
    m.put("speedup_bin", SPEEDUP_BIN);
    m.put("configs", configs);
    m.put("errors", errors);
    return new GsonBuilder().serializeNulls().create().toJson(m);
  }

  /** Writes report.html beside summary.json (a local or mounted output only, as the summary). */
  void write(Path outDir, String out) throws IOException {
    if (Files.isDirectory(outDir)) {
      if (System.getProperty("java.awt.headless") == null) { // fonts and metrics only: no display is needed
        System.setProperty("java.awt.headless", "true");
      }
      RunSummary.replace(outDir, "report.html", ReportPage.html(this, out));
    }
  }
}
