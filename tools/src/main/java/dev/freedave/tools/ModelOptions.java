package dev.freedave.tools;

import ai.djl.Device;
import dev.freedave.model.ComputeDtype;
import dev.freedave.model.DiffusionLM;
import dev.freedave.model.ModelFolder;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The options every subcommand that loads a checkpoint shares. */
final class ModelOptions {
  @Option(names = "--model", required = true, description = "Hugging Face model folder (config.json + safetensors) or a TorchScript export folder")
  Path model;

  @Option(names = "--dtype", defaultValue = "float32", description = "float32 (default) or float16 weights")
  String dtype;

  @Option(names = "--device", defaultValue = "cpu", description = "cpu or gpu[:N]")
  String device;

  DiffusionLM load() throws IOException {
    return ModelFolder.open(model).loadModel(ComputeDtype.parse(dtype), Device.fromName(device));
  }
}
