package dev.freedave.model;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonParser;
import dev.freedave.text.TextCodec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** The two model formats a folder can hold: an HF checkpoint (native forward) or a TorchScript export. */
public final class DiffusionModels {
  private DiffusionModels() {}

  /**
   * @param dtype compute dtype of a native checkpoint; a TorchScript module keeps the dtype it was exported in
   */
  public static DiffusionLM load(Path dir, DataType dtype, Device device) throws IOException {
    return TorchScriptModel.isTorchScriptFolder(dir) ? TorchScriptModel.load(dir, device)
        : LlamaFamilyModel.load(dir, dtype, device);
  }

  /**
   * Everything that can be checked without loading weights: config, tensor names and shapes, mask
   * id against the tokenizer, the module file of an export. Meant for the driver, before any task.
   *
   * @return the decoder-facing spec of the folder's model
   */
  public static ModelSpec validate(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      throw new ModelLoadException("model folder " + dir + " does not exist");
    }
    if (TorchScriptModel.isTorchScriptFolder(dir)) {
      Path specFile = dir.resolve(TorchScriptModel.SPEC_FILE);
      var json = JsonParser.parseString(Files.readString(specFile, StandardCharsets.UTF_8)).getAsJsonObject();
      String file = json.has("file") ? json.get("file").getAsString() : "model.pt";
      if (!Files.isRegularFile(dir.resolve(file))) {
        throw new ModelLoadException("TorchScript file " + dir.resolve(file) + " named by " + specFile + " is missing");
      }
      return TorchScriptModel.readSpec(json, specFile.toString()).withAddedTokens(TextCodec.addedTokens(dir));
    }
    ModelConfig mc = ModelConfig.read(dir);
    try (Checkpoint ckpt = Checkpoint.open(dir)) {
      ckpt.validate(new WeightNames(mc).expected());
    }
    if (mc.maskTokenId() < 0) {
      throw new ModelLoadException("config.json of " + dir + " names no mask_token_id");
    }
    return ModelSpec.of(mc).withAddedTokens(TextCodec.addedTokens(dir));
  }
}
