package dev.freedave.spark;

import ai.djl.Device;
import dev.freedave.batch.ExecutorModels;
import dev.freedave.batch.GenerateSettings;
import dev.freedave.batch.InputRow;
import dev.freedave.batch.OutputRow;
import dev.freedave.batch.PartitionGenerator;
import dev.freedave.decode.DecodeConfig;
import dev.freedave.decode.DecodeScheduler;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;

/**
 * The Spark adapter: one partition of (id, prompt, answer, seed) rows in, one output row per input
 * row out, decoded by the executor's shared model on the GPU Spark assigned to the task (else CPU).
 */
public final class DecodePartitions implements MapPartitionsFunction<Row, Row> {
  private static final long serialVersionUID = 1L;
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(DecodePartitions.class);

  /** Input columns, in this order, as the job normalises any dataset. */
  public static final StructType INPUT_SCHEMA = new StructType(new StructField[] {
      DataTypes.createStructField("id", DataTypes.StringType, true),
      DataTypes.createStructField("prompt", DataTypes.StringType, true),
      DataTypes.createStructField("answer", DataTypes.StringType, true),
      DataTypes.createStructField("seed", DataTypes.LongType, true)});

  /** The Parquet schema (README, "Output schema"). */
  public static final StructType OUTPUT_SCHEMA = new StructType(new StructField[] {
      DataTypes.createStructField("id", DataTypes.StringType, true),
      DataTypes.createStructField("prompt", DataTypes.StringType, true),
      DataTypes.createStructField("completion", DataTypes.StringType, true),
      DataTypes.createStructField("completion_token_ids", DataTypes.createArrayType(DataTypes.IntegerType, false), false),
      DataTypes.createStructField("finish_reason", DataTypes.StringType, false),
      DataTypes.createStructField("error", DataTypes.StringType, true),
      DataTypes.createStructField("decoder", DataTypes.StringType, false),
      DataTypes.createStructField("draft_steps", DataTypes.IntegerType, true),
      DataTypes.createStructField("block_length", DataTypes.IntegerType, false),
      DataTypes.createStructField("gen_length", DataTypes.IntegerType, false),
      DataTypes.createStructField("threshold", DataTypes.DoubleType, true),
      DataTypes.createStructField("cache", DataTypes.StringType, false),
      DataTypes.createStructField("nfe", DataTypes.IntegerType, false),
      DataTypes.createStructField("static_steps", DataTypes.IntegerType, false),
      DataTypes.createStructField("tpf", DataTypes.DoubleType, false),
      DataTypes.createStructField("accepted_hist", DataTypes.createArrayType(DataTypes.IntegerType, false), false),
      DataTypes.createStructField("positions_computed", DataTypes.LongType, false),
      DataTypes.createStructField("decode_ms", DataTypes.DoubleType, false),
      DataTypes.createStructField("prompt_tokens", DataTypes.IntegerType, false),
      DataTypes.createStructField("gen_tokens", DataTypes.IntegerType, false),
      DataTypes.createStructField("match_static", DataTypes.BooleanType, true),
      DataTypes.createStructField("correct", DataTypes.BooleanType, true),
      DataTypes.createStructField("model_id", DataTypes.StringType, false),
      DataTypes.createStructField("config_hash", DataTypes.StringType, false)});

  /** Driver-side counters the tasks add to. */
  public record Counters(LongAccumulator rows, LongAccumulator tokens, LongAccumulator forwards,
      CollectionAccumulator<String> modelLoads) implements java.io.Serializable {}

  private final GenerateSettings settings;
  private final DecodeConfig config;
  private final Counters counters;

  public DecodePartitions(GenerateSettings settings, DecodeConfig config, Counters counters) {
    this.settings = settings;
    this.config = config;
    this.counters = counters;
  }

  @Override
  public Iterator<Row> call(Iterator<Row> input) {
    List<InputRow> rows = new ArrayList<>();
    while (input.hasNext()) {
      Row r = input.next();
      rows.add(new InputRow(r.getString(0), r.getString(1), r.getString(2), r.isNullAt(3) ? null : r.getLong(3)));
    }
    if (rows.isEmpty()) {
      return java.util.Collections.emptyIterator();
    }
    long t0 = System.nanoTime();
    ExecutorModels.Loaded loaded = ExecutorModels.get(settings.modelDir(), settings.dtype(), taskDevice(settings.device()));
    long t1 = System.nanoTime();
    counters.modelLoads().add(ProcessHandle.current().pid() + ":" + ExecutorModels.loads());
    List<OutputRow> out = new PartitionGenerator(settings, loaded).run(rows, config, new PartitionGenerator.Progress() {
      @Override
      public void forward(DecodeScheduler.ForwardEvent e) {
        counters.forwards().add(1);
      }

      @Override
      public void row(OutputRow r) {
        counters.rows().add(1);
        counters.tokens().add(r.genTokens());
      }
    });
    LOG.info(String.format(java.util.Locale.ROOT, "partition %d: %d rows of %s decoded in %.2f s (model ready in %.2f s)",
        TaskContext.getPartitionId(), rows.size(), config.label(), (System.nanoTime() - t1) / 1e9, (t1 - t0) / 1e9));
    List<Row> result = new ArrayList<>(out.size());
    for (OutputRow o : out) {
      result.add(toRow(o));
    }
    return result.iterator();
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

  static Row toRow(OutputRow o) {
    // Spark's Row encoder wants Java arrays (not Lists) for array columns
    return RowFactory.create(o.id(), o.prompt(), o.completion(), boxed(o.completionTokenIds()), o.finishReason(),
        o.error(), o.decoder(), o.draftSteps(), o.blockLength(), o.genLength(), o.threshold(), o.cache(), o.nfe(),
        o.staticSteps(), o.tpf(), boxed(o.acceptedHist()), o.positionsComputed(), o.decodeMs(), o.promptTokens(),
        o.genTokens(), o.matchStatic(), o.correct(), o.modelId(), o.configHash());
  }

  private static Integer[] boxed(int[] a) {
    Integer[] b = new Integer[a.length];
    for (int i = 0; i < a.length; i++) {
      b[i] = a[i];
    }
    return b;
  }
}
