package dev.freedave.model;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Block;
import ai.djl.nn.core.Embedding;
import ai.djl.training.ParameterStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

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

  static boolean isExport(Path dir) {
    return Files.isRegularFile(dir.resolve(SPEC_FILE));
  }

  /**
   * An export folder's {@value #SPEC_FILE}: the module file and the decoder spec. model_type picks
   * the family's default ids; ids written in the file win.
   */
  record Export(Path module, ModelFamily family, ModelSpec spec) {
    static Export read(Path dir) throws IOException {
      Path file = dir.resolve(SPEC_FILE);
      ModelConfig.Keys k = new ModelConfig.Keys(ModelFolder.readObject(file), file.toString());
      String type = k.string("model_type", "");
      ModelFamily f = ModelFamily.ofModelType(type).filter(x -> !x.blockCausal).orElseThrow(() -> new ModelLoadException(
          file + ": model_type must be llada or Dream, got '" + type + "' (a block-causal model is read from its "
          + "checkpoint folder, not an export)"));
      if (!k.has("vocab_size")) {
        throw new ModelLoadException(file + ": missing vocab_size");
      }
      var eos = k.ids("eos_token_id");
      ModelSpec spec = new ModelSpec(k.required("vocab_size"), k.integer("mask_token_id", f.defaultMaskId),
          eos.isEmpty() ? f.defaultEosIds : eos, k.integer("prediction_offset", f.predictionOffset),
          k.integer("max_sequence_length", f.defaultMaxSequenceLength));
      String name = k.string("file", "model.pt");
      if (!name.endsWith(".pt")) {
        throw new ModelLoadException(file + ": 'file' must name a .pt module, got '" + name + "'");
      }
      return new Export(dir.resolve(name), f, spec);
    }

    void checkModuleFile() {
      if (!Files.isRegularFile(module)) {
        throw new ModelLoadException("TorchScript file " + module + " named by " + SPEC_FILE + " is missing");
      }
    }
  }

  static TorchScriptModel load(Export export, ModelSpec spec, Device device) throws IOException {
    export.checkModuleFile();
    String name = export.module().getFileName().toString();
    DjlOffline.apply();
    Model m = Model.newInstance("freedave-torchscript", device, "PyTorch");
    try {
      m.load(export.module().getParent(), name.substring(0, name.length() - 3));
    } catch (MalformedModelException | RuntimeException e) {
      m.close();
      throw new ModelLoadException("cannot load TorchScript module " + export.module() + ": " + e.getMessage(), e);
    }
    return new TorchScriptModel(m, spec);
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
        logits = Embedding.embedding(flat, logits.reshape(b * len, v), SparseFormat.DENSE).singletonOrThrow()
            .reshape(b, w, v);
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
