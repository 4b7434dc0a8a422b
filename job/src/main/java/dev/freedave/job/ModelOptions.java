package dev.freedave.job;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.freedave.model.DiffusionLM;
import dev.freedave.model.DiffusionModels;
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
    DataType type = switch (dtype.toLowerCase()) {
      case "float32", "fp32" -> DataType.FLOAT32;
      case "float16", "fp16" -> DataType.FLOAT16;
      default -> throw new IllegalArgumentException("--dtype must be float32 or float16, got " + dtype);
    };
    return DiffusionModels.load(model, type, Device.fromName(device));
  }
}
