package dev.freedave.spark;

import ai.djl.Device;
import dev.freedave.decode.DecodeConfig;
import dev.freedave.generate.GenerateSettings;
import dev.freedave.generate.InputRow;
import dev.freedave.generate.OutputColumn;
import dev.freedave.generate.OutputRow;
import dev.freedave.generate.PartitionGenerator;
import dev.freedave.model.LoadedModel;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * The per-partition function {@link FreeDaveGenerator} runs: one partition of input rows in, each
 * row out again with the result columns appended, decoded by the executor's shared model
 * ({@link ExecutorModels}) on the GPU Spark assigned to the task, else the CPU.
 */
final class DecodePartitions implements MapPartitionsFunction<Row, Row> {
  private static final long serialVersionUID = 1L;
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(DecodePartitions.class);

  /** Where the input columns are in an input row; -1 = the row has no such column. */
  record Columns(int id, int prompt, int answer, int seed, int problem) implements java.io.Serializable {}

  private final GenerateSettings settings;
  private final DecodeConfig config;
  private final Columns columns;
  private final DecodeCounters counters;

  DecodePartitions(GenerateSettings settings, DecodeConfig config, Columns columns, DecodeCounters counters) {
    this.settings = settings;
    this.config = config;
    this.columns = columns;
    this.counters = counters;
  }

  @Override
  public Iterator<Row> call(Iterator<Row> input) {
    List<Row> in = new ArrayList<>();
    input.forEachRemaining(in::add);
    if (in.isEmpty()) {
      return Collections.emptyIterator();
    }
    List<InputRow> rows = new ArrayList<>(in.size());
    for (Row r : in) {
      rows.add(new InputRow(text(r, columns.id()), text(r, columns.prompt()), text(r, columns.answer()),
          columns.seed() < 0 || r.isNullAt(columns.seed()) ? null : ((Number) r.get(columns.seed())).longValue(),
          text(r, columns.problem())));
    }
    long t0 = System.nanoTime();
    Device device = taskDevice(settings.device());
    LoadedModel loaded = ExecutorModels.get(settings.modelDir(), settings.dtype(), device);
    long t1 = System.nanoTime();
    counters.modelLoaded(ExecutorModels.loads(settings.modelDir(), settings.dtype(), device));
    List<OutputRow> out = new PartitionGenerator(settings, loaded).run(rows, config, counters);
    LOG.info(String.format(Locale.ROOT, "partition %d: %d rows of %s decoded in %.2f s (model ready in %.2f s)",
        TaskContext.getPartitionId(), rows.size(), config.label(), (System.nanoTime() - t1) / 1e9, (t1 - t0) / 1e9));
    List<OutputColumn> results = SparkColumns.results();
    List<Row> result = new ArrayList<>(out.size());
    for (int i = 0; i < out.size(); i++) {
      Row r = in.get(i);
      Object[] values = new Object[r.length() + results.size()];
      for (int j = 0; j < r.length(); j++) {
        values[j] = r.get(j);
      }
      for (int j = 0; j < results.size(); j++) {
        values[r.length() + j] = SparkColumns.value(results.get(j), out.get(i));
      }
      result.add(RowFactory.create(values));
    }
    return result.iterator();
  }

  private static String text(Row r, int index) {
    return index < 0 || r.isNullAt(index) ? null : r.get(index).toString();
  }

  /**
   * The device for this task: the GPU Spark assigned to it (spark.task.resource.gpu.amount=1) unless
   * the setting names one; without an assignment, auto means the CPU and gpu means GPU 0.
   */
  static Device taskDevice(String setting) {
    if (setting.equals("cpu")) {
      return Device.cpu();
    }
    if (setting.startsWith("gpu:")) {
      return Device.gpu(Integer.parseInt(setting.substring(4)));
    }
    TaskContext tc = TaskContext.get();
    if (tc != null) {
      ResourceInformation gpu = tc.resources().get("gpu").getOrElse(() -> null);
      if (gpu != null && gpu.addresses().length > 0) {
        return Device.gpu(Integer.parseInt(gpu.addresses()[0]));
      }
    }
    return setting.equals("gpu") ? Device.gpu(0) : Device.cpu();
  }
}
