package dev.freedave.model;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.freedave.text.TextCodec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * A diffusion LM exported as a TorchScript module {@code (input_ids, attention_mask) → logits}
 * (notebooks/export_torchscript.py), run by the same decoders as the native model. The folder holds
 * the {@code .pt}, a {@value #SPEC_FILE} naming its model_type and special ids, and the tokenizer.
 * The module sees positions 0..L-1 and key-padding masks only, which is what the decoders' right-padded
 * batches need; it has no block cache (cache = none).
 */
public final class TorchScriptModel implements DiffusionLM {
  public static final String SPEC_FILE = "freedave-torchscript.json";

  private final Model model;
  private final Block block;
  private final ModelSpec spec;
  private final NDManager manager;

  private TorchScriptModel(Model model, ModelSpec spec) {
    this.model = model;
    this.block = model.getBlock();
    this.spec = spec;
    this.manager = model.getNDManager();
  }

  public static boolean isTorchScriptFolder(Path dir) {
    return Files.isRegularFile(dir.resolve(SPEC_FILE));
  }

  public static TorchScriptModel load(Path dir, Device device) throws IOException {
    JsonObject j;
    try {
      j = JsonParser.parseString(Files.readString(dir.resolve(SPEC_FILE), StandardCharsets.UTF_8)).getAsJsonObject();
    } catch (RuntimeException e) {
      throw new ModelLoadException(dir.resolve(SPEC_FILE) + " is not a JSON object", e);
    }
    ModelSpec spec = readSpec(j, dir.resolve(SPEC_FILE).toString()).withAddedTokens(TextCodec.addedTokens(dir));
    String file = j.has("file") ? j.get("file").getAsString() : "model.pt";
    if (!file.endsWith(".pt") || !Files.isRegularFile(dir.resolve(file))) {
      throw new ModelLoadException("TorchScript file " + dir.resolve(file) + " is missing (or not a .pt)");
    }
    Model m = Model.newInstance("freedave-torchscript", device, "PyTorch");
    try {
      m.load(dir, file.substring(0, file.length() - 3));
    } catch (MalformedModelException | RuntimeException e) {
      m.close();
      throw new ModelLoadException("cannot load TorchScript module " + dir.resolve(file) + ": " + e.getMessage(), e);
    }
    return new TorchScriptModel(m, spec);
  }

  /** model_type picks the family defaults (models.md §1, §2); explicit ids in the file win. */
  static ModelSpec readSpec(JsonObject j, String src) {
    String type = j.has("model_type") ? j.get("model_type").getAsString().toLowerCase(Locale.ROOT) : "";
    boolean llada = switch (type) {
      case "llada" -> true;
      case "dream", "qwen2" -> false;
      default -> throw new ModelLoadException(src + ": model_type must be llada or Dream, got '" + type + "'");
    };
    if (!j.has("vocab_size")) {
      throw new ModelLoadException(src + ": missing vocab_size");
    }
    List<Integer> eos = ModelConfig.idList(j.get("eos_token_id"));
    if (eos.isEmpty()) {
      eos = List.of(llada ? 126081 : 151643);
    }
    int mask = j.has("mask_token_id") ? j.get("mask_token_id").getAsInt() : llada ? 126336 : 151666;
    int offset = j.has("prediction_offset") ? j.get("prediction_offset").getAsInt() : llada ? 0 : 1;
    int maxLen = j.has("max_sequence_length") ? j.get("max_sequence_length").getAsInt() : llada ? 4096 : 2048;
    return new ModelSpec(j.get("vocab_size").getAsInt(), mask, eos, offset, maxLen);
  }

  @Override
  public ModelSpec spec() {
    return spec;
  }

  @Override
  public NDManager newScope() {
    return manager.newSubManager();
  }

  @Override
  public NDArray logits(NDArray ids, NDArray keyMask, NDArray positions, NDArray outputIndex) {
    if (positions != null) {
      throw new UnsupportedOperationException("a TorchScript module uses positions 0..L-1; explicit positions "
          + "are not supported");
    }
    NDManager out = ids.getManager();
    long b = ids.getShape().get(0);
    long len = ids.getShape().get(1);
    try (NDManager scope = out.newSubManager()) {
      NDArray mask = keyMask != null ? keyMask.toType(DataType.INT64, false) : scope.ones(ids.getShape(), DataType.INT64);
      NDList result = block.forward(new ParameterStore(scope, false), new NDList(ids, mask), false);
      NDArray logits = result.singletonOrThrow();
      logits.attach(scope);
      long v = logits.getShape().get(2);
      if (outputIndex != null) {
        // a row gather on [B*L, V]: never an index tensor as large as the logits
        long w = outputIndex.getShape().get(1);
        NDArray flat = outputIndex.add(scope.arange(0, (int) (b * len), (int) len, DataType.INT64).reshape(b, 1));
        logits = LlamaFamilyModel.rows(logits.reshape(b * len, v), flat).reshape(b, w, v);
      }
      NDArray f32 = logits.toType(DataType.FLOAT32, false);
      f32.attach(out);
      return f32;
    }
  }

  @Override
  public void close() {
    model.close();
  }
}
