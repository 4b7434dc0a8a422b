package dev.freedave.spark;

import dev.freedave.decode.DecodeConfig;
import dev.freedave.generate.GenerateSettings;
import dev.freedave.model.CacheMode;
import dev.freedave.model.ComputeDtype;
import dev.freedave.model.DefaultModel;
import dev.freedave.model.ModelFolder;
import dev.freedave.model.ModelLoadException;
import dev.freedave.text.ChatTemplate;
import dev.freedave.text.TextCodec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Decodes a column of prompts with a diffusion LM, in the manner of a Spark ML transformer: every
 * input row comes out once, with the result columns (README, "Output schema") appended. One model
 * per executor JVM, on the GPU Spark assigned to the task. {@link #transform} checks the params, the
 * model folder and the template on the driver before any task runs.
 *
 * <pre>{@code
 * Dataset<Row> out = new FreeDaveGenerator().setModel("/models/LLaDA-8B-Instruct").setDtype("float16")
 *     .setChatTemplate("llada").setInputCol("question").setIdCol("qid")
 *     .setDecoder("freedave").setDraftSteps(8).setBlockLength(32).setGenLength(256).setCache("dual")
 *     .transform(prompts);
 * }</pre>
 *
 * <p>It does not extend {@code org.apache.spark.ml.Transformer}: spark-mllib is published for Spark
 * 4.1.0 but not 4.1.3, and one Spark version on the classpath is worth more than Pipeline
 * membership; {@code transform} and {@code transformSchema} have that class's contracts.
 */
public final class FreeDaveGenerator implements java.io.Serializable {
  private static final long serialVersionUID = 1L;

  private String model = DefaultModel.NAME;
  private String dtype = ComputeDtype.FLOAT32.label();
  private String device = "auto";
  private String modelId = "";
  private String chatTemplate = "none";
  private String inputCol = "prompt";
  private String idCol = "id";
  private String answerCol = "answer";
  private String seedCol = "";
  private String inputErrorCol = "";
  private String decoder = DecodeConfig.Method.FREEDAVE.label;
  private int draftSteps = 8;
  private int blockLength;
  private int genLength = 64;
  private int steps;
  private double threshold = 0.9;
  private double temperature;
  private boolean eosEarlyExit = true;
  private String cache = CacheMode.NONE.label();
  private boolean auditStatic;
  private int maxRowsInFlight = 8;
  private int maxSequencesPerForward = 64;
  private String draftBudget = "auto";
  private transient DecodeCounters counters = DecodeCounters.NONE;
  private transient CheckedFolder checked; // the folder + template last checked on this driver

  /** Model folder on every executor; {@code default} = the packaged demo model. */
  public FreeDaveGenerator setModel(String v) {
    model = v;
    return this;
  }

  /** float32 or float16: how the large matrices are stored and multiplied. */
  public FreeDaveGenerator setDtype(String v) {
    dtype = v;
    return this;
  }

  /** auto (Spark's GPU for the task, else the CPU), cpu, gpu or gpu:N. */
  public FreeDaveGenerator setDevice(String v) {
    device = v;
    return this;
  }

  /** Written to model_id and hashed into config_hash; empty = the folder's name. */
  public FreeDaveGenerator setModelId(String v) {
    modelId = v;
    return this;
  }

  /** none, llada or chatml. */
  public FreeDaveGenerator setChatTemplate(String v) {
    chatTemplate = v;
    return this;
  }

  /** The prompt column (string). */
  public FreeDaveGenerator setInputCol(String v) {
    inputCol = v;
    return this;
  }

  /** The row id column; rows whose dataset has none sort by prompt. */
  public FreeDaveGenerator setIdCol(String v) {
    idCol = v;
    return this;
  }

  /** Reference answers, which fill {@code correct}; ignored when the dataset has no such column. */
  public FreeDaveGenerator setAnswerCol(String v) {
    answerCol = v;
    return this;
  }

  /** Per-row sampling seed (integer); empty = derived from the id. */
  public FreeDaveGenerator setSeedCol(String v) {
    seedCol = v;
    return this;
  }

  /**
   * A string column saying why a row cannot be decoded as read (set by an upstream validation, such as
   * the job's input reader); a row with a value there comes out as an error row with that message.
   * Empty = no such column.
   */
  public FreeDaveGenerator setInputErrorCol(String v) {
    inputErrorCol = v;
    return this;
  }

  /** static, threshold, freedave or freedave++. */
  public FreeDaveGenerator setDecoder(String v) {
    decoder = v;
    return this;
  }

  /** FreeDave drafts per round (K). */
  public FreeDaveGenerator setDraftSteps(int v) {
    draftSteps = v;
    return this;
  }

  /** Semi-autoregressive block; 0 = the generation length. */
  public FreeDaveGenerator setBlockLength(int v) {
    blockLength = v;
    return this;
  }

  public FreeDaveGenerator setGenLength(int v) {
    genLength = v;
    return this;
  }

  /** Static steps in all; 0 = the generation length (one token per step). */
  public FreeDaveGenerator setSteps(int v) {
    steps = v;
    return this;
  }

  /** Confidence threshold of threshold decoding and FreeDave++. */
  public FreeDaveGenerator setThreshold(double v) {
    threshold = v;
    return this;
  }

  /** 0 = greedy. */
  public FreeDaveGenerator setTemperature(double v) {
    temperature = v;
    return this;
  }

  /** Stop a row once a completed block is all end tokens. */
  public FreeDaveGenerator setEosEarlyExit(boolean v) {
    eosEarlyExit = v;
    return this;
  }

  /** Block KV cache: none, prefix or dual. */
  public FreeDaveGenerator setCache(String v) {
    cache = v;
    return this;
  }

  /** Also decode statically and fill {@code match_static}. */
  public FreeDaveGenerator setAuditStatic(boolean v) {
    auditStatic = v;
    return this;
  }

  /** Rows decoded at once per task. */
  public FreeDaveGenerator setMaxRowsInFlight(int v) {
    maxRowsInFlight = v;
    return this;
  }

  /** Rows × drafts per forward. */
  public FreeDaveGenerator setMaxSequencesPerForward(int v) {
    maxSequencesPerForward = v;
    return this;
  }

  /**
   * auto: FreeDave rows send the number of drafts (up to K) that advances fastest, from the forward
   * costs and acceptance measured in the task; off: always K (NFE statistics reproducible run to run).
   */
  public FreeDaveGenerator setDraftBudget(String v) {
    draftBudget = v;
    return this;
  }

  /** Sets every decoder param from one config (how the job passes each entry of its sweep). */
  public FreeDaveGenerator setDecodeConfig(DecodeConfig c) {
    return setDecoder(c.method().label).setDraftSteps(c.draftSteps()).setBlockLength(c.blockLength())
        .setGenLength(c.genLength()).setSteps(c.steps()).setThreshold(c.threshold()).setTemperature(c.temperature())
        .setEosEarlyExit(c.eosEarlyExit()).setCache(c.cache().label());
  }

  /** Spark accumulators the tasks count rows, tokens, forwards and model loads into. */
  public FreeDaveGenerator setCounters(DecodeCounters c) {
    counters = c;
    return this;
  }

  /** The decoder config the params describe; an invalid combination fails here with the reason. */
  public DecodeConfig decodeConfig() {
    return new DecodeConfig(DecodeConfig.Method.parse(decoder), genLength, blockLength > 0 ? blockLength : genLength,
        steps > 0 ? steps : genLength, draftSteps, threshold, temperature, eosEarlyExit, CacheMode.parse(cache));
  }

  /** The executor-side settings the params describe; model_id defaults to the folder's name. */
  public GenerateSettings settings() {
    String id = modelId;
    if (id.isBlank()) {
      id = DefaultModel.NAME.equals(model) ? DefaultModel.NAME
          : Path.of(model).toAbsolutePath().normalize().getFileName().toString();
    }
    ChatTemplate template = ChatTemplate.parse(chatTemplate);
    return new GenerateSettings(model, ComputeDtype.parse(dtype), device, id,
        checkedFolder(DefaultModel.resolve(model), template).fingerprint(), template, auditStatic, maxRowsInFlight,
        maxSequencesPerForward, draftBudget);
  }

  /**
   * The driver-side check that {@link #transform} runs before any task (call it earlier to fail before
   * other Spark work): the params parse, the model folder is usable (config, every tensor's shape, the
   * tokenizer), the template's special tokens exist, a cache policy has a model with a cache, a
   * FreeDave row's drafts fit in one forward and the generation fits in the model's context.
   */
  public void validate() {
    GenerateSettings s = settings();
    DecodeConfig config = decodeConfig();
    Path dir = DefaultModel.resolve(s.modelDir());
    CheckedFolder folder = checkedFolder(dir, s.template());
    if (folder.torchScript() && config.cache() != CacheMode.NONE) {
      throw new ModelLoadException("model folder " + dir + " is not usable: a TorchScript model has no block cache: "
          + "decoder " + config.label() + " asks for cache = " + config.cache().label() + "; use cache = none");
    }
    if (config.method().drafts() && config.draftSteps() > s.maxSequencesPerForward()) {
      throw new IllegalArgumentException("decoder " + config.label() + ": draft_steps " + config.draftSteps()
          + " exceeds max sequences per forward " + s.maxSequencesPerForward() + " (batching.max-sequences-per-forward)"
          + "; a row's drafts are verified in one forward, so lower draft-steps or raise that limit");
    }
    if (folder.blockCausal() && config.blockCausalProblem() != null) {
      throw new IllegalArgumentException("decoder " + config.label() + ": " + config.blockCausalProblem());
    }
    if (config.genLength() >= folder.context()) {
      throw new IllegalArgumentException("decoder " + config.label() + ": gen_length " + config.genLength()
          + " leaves no room for a prompt in the model's context of " + folder.context() + " tokens");
    }
  }

  /** What the driver learnt of a model folder and template; checked once per folder and template. */
  private record CheckedFolder(String key, String fingerprint, int context, boolean torchScript,
      boolean blockCausal) {}

  private CheckedFolder checkedFolder(Path dir, ChatTemplate template) {
    String key = dir + "|" + template;
    if (checked == null || !checked.key().equals(key)) {
      try {
        ModelFolder folder = ModelFolder.open(dir);
        folder.validate();
        try (TextCodec codec = folder.codec()) {
          template.validate(codec);
        }
        checked = new CheckedFolder(key, folder.fingerprint(), folder.spec().maxSequenceLength(),
            folder.isTorchScript(), folder.spec().blockCausal());
      } catch (ModelLoadException e) {
        throw new ModelLoadException("model folder " + dir + " is not usable: " + e.getMessage(), e);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read model folder " + dir, e);
      }
    }
    return checked;
  }

  /** The input rows, each with the result columns appended. */
  public Dataset<Row> transform(Dataset<?> dataset) {
    StructType in = dataset.schema();
    StructType out = transformSchema(in);
    validate();
    DecodePartitions.Columns columns = new DecodePartitions.Columns(index(in, idCol), in.fieldIndex(inputCol),
        index(in, answerCol), index(in, seedCol), index(in, inputErrorCol));
    return dataset.toDF().mapPartitions(new DecodePartitions(settings(), decodeConfig(), columns, counters),
        Encoders.row(out));
  }

  private static int index(StructType s, String col) {
    return !col.isBlank() && Arrays.asList(s.fieldNames()).contains(col) ? s.fieldIndex(col) : -1;
  }

  /** The output schema for an input schema: its columns, then the result columns; refuses a wrong prompt column. */
  public StructType transformSchema(StructType schema) {
    List<String> names = Arrays.asList(schema.fieldNames());
    if (!names.contains(inputCol)) {
      throw new IllegalArgumentException("no prompt column '" + inputCol + "' (columns: " + names + ")");
    }
    requireType(schema, inputCol, "a string", DataTypes.StringType);
    // an id is kept as the exact text of the input: a float has none (2 would become "2.0")
    requireType(schema, idCol, "a string or integer", DataTypes.StringType, DataTypes.LongType,
        DataTypes.IntegerType, DataTypes.ShortType, DataTypes.ByteType);
    requireType(schema, seedCol, "an integer", DataTypes.LongType, DataTypes.IntegerType);
    requireType(schema, inputErrorCol, "a string", DataTypes.StringType);
    return SparkColumns.appendedTo(schema);
  }

  private static void requireType(StructType schema, String col, String what, DataType... types) {
    if (col.isBlank() || !Arrays.asList(schema.fieldNames()).contains(col)) {
      return;
    }
    StructField f = schema.apply(col);
    if (!Arrays.asList(types).contains(f.dataType())) {
      throw new IllegalArgumentException("column '" + col + "' is " + f.dataType().simpleString() + ", expected "
          + what);
    }
  }
}
