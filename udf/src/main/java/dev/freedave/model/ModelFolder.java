package dev.freedave.model;

import ai.djl.Device;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.freedave.text.TextCodec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A model folder read once: its config (a Hugging Face {@code config.json}, or the
 * {@value TorchScriptModel#SPEC_FILE} of a TorchScript export), its tokenizer, and the complete
 * {@link ModelSpec} both imply. The driver {@link #validate}s it before any task; each executor opens
 * it again (the folder is at the same path everywhere) and {@link #load}s it once per JVM.
 */
public final class ModelFolder {
  private final Path dir;
  private final ModelConfig config; // null for a TorchScript export
  private final TorchScriptModel.Export export; // null for a checkpoint
  private final String tokenizerJson; // null when the folder has no tokenizer
  private final ModelSpec spec; // null when the checkpoint names no mask id

  private ModelFolder(Path dir, ModelConfig config, TorchScriptModel.Export export, String tokenizerJson,
      ModelSpec spec) {
    this.dir = dir;
    this.config = config;
    this.export = export;
    this.tokenizerJson = tokenizerJson;
    this.spec = spec;
  }

  /** Reads the folder's config and tokenizer files; fails with the file and key at fault. */
  public static ModelFolder open(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      throw new ModelLoadException("model folder " + dir + " does not exist");
    }
    String tokenizer = TextCodec.tokenizerJson(dir).orElse(null);
    Map<String, Integer> added = tokenizer == null ? Map.of() : TextCodec.addedTokens(tokenizer, dir);
    if (TorchScriptModel.isExport(dir)) {
      TorchScriptModel.Export export = TorchScriptModel.Export.read(dir);
      return new ModelFolder(dir, null, export, tokenizer, export.spec().withAddedTokens(added, export.family()));
    }
    ModelConfig config = ModelConfig.parse(readObject(dir.resolve("config.json")), dir.resolve("config.json").toString());
    ModelSpec spec = config.maskTokenId() < 0 ? null
        : ModelSpec.of(config).withAddedTokens(added, config.family());
    return new ModelFolder(dir, config, null, tokenizer, spec);
  }

  static JsonObject readObject(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new ModelLoadException("no " + file.getFileName() + " in model folder " + file.getParent());
    }
    try {
      return JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject();
    } catch (RuntimeException e) {
      throw new ModelLoadException(file + " is not a JSON object: " + e.getMessage(), e);
    }
  }

  public boolean isTorchScript() {
    return export != null;
  }

  /** What the decoders need; fails when the checkpoint names no mask id (it cannot be decoded). */
  public ModelSpec spec() {
    if (spec == null) {
      throw new ModelLoadException("config.json of " + dir + " names no mask_token_id; it cannot be decoded");
    }
    return spec;
  }

  /**
   * Everything that can be checked without loading weights, for the driver: the spec, every
   * tensor's presence and shape (headers only) or the export's module file, and a tokenizer that
   * builds and encodes.
   */
  public void validate() throws IOException {
    spec();
    if (export != null) {
      export.checkModuleFile();
    } else {
      try (Checkpoint ckpt = Checkpoint.open(dir)) {
        ckpt.validate(new WeightNames(config).expected());
      }
    }
    try (TextCodec codec = codec()) {
      codec.encode("probe");
    }
  }

  /** A new tokenizer from the folder's tokenizer files, as read at {@link #open}. */
  public TextCodec codec() {
    if (tokenizerJson == null) {
      throw TextCodec.noTokenizer(dir);
    }
    return TextCodec.fromJson(tokenizerJson, dir);
  }

  /** The model alone (no tokenizer needed), e.g. to compare logits. */
  public DiffusionLM loadModel(ComputeDtype dtype, Device device) throws IOException {
    return export != null ? TorchScriptModel.load(export, spec(), device)
        : LlamaFamilyModel.load(dir, config, spec, dtype, device);
  }

  /** Model and tokenizer, what an executor decodes with. */
  public LoadedModel load(ComputeDtype dtype, Device device) throws IOException {
    TextCodec codec = codec();
    try {
      spec();
      return new LoadedModel(loadModel(dtype, device), codec);
    } catch (IOException | RuntimeException e) {
      codec.close();
      throw e;
    }
  }
}
