package dev.freedave.batch;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.freedave.model.DefaultModel;
import dev.freedave.model.DiffusionLM;
import dev.freedave.model.DiffusionModels;
import dev.freedave.text.TextCodec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One model per executor JVM: a static holder keyed by (folder, dtype, device), loaded by the first
 * task that needs it and shared by every later task (weights are read-only; forwards are
 * thread-safe). Static state is never serialized, so nothing large travels with a task.
 */
public final class ExecutorModels {
  private static final Map<String, Loaded> MODELS = new ConcurrentHashMap<>();
  private static final AtomicInteger LOADS = new AtomicInteger();

  /** A model and its tokenizer, alive until the JVM exits. */
  public record Loaded(DiffusionLM model, TextCodec codec) {}

  private ExecutorModels() {}

  /** The model folder name that means "the project's default model", resolved on each executor. */
  public static final String DEFAULT = "default";

  public static Path resolve(String dir) {
    return DEFAULT.equals(dir) ? DefaultModel.resolve() : Path.of(dir).toAbsolutePath().normalize();
  }

  public static Loaded get(String dir, String dtype, Device device) {
    Path path = resolve(dir);
    String key = path + "|" + dtype + "|" + device;
    return MODELS.computeIfAbsent(key, k -> {
      try {
        LOADS.incrementAndGet();
        DataType type = dtype.equalsIgnoreCase("float16") || dtype.equalsIgnoreCase("fp16") ? DataType.FLOAT16
            : DataType.FLOAT32;
        return new Loaded(DiffusionModels.load(path, type, device), TextCodec.load(path));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot load model " + dir, e);
      }
    });
  }

  /** Model loads this JVM has done, for the one-load-per-executor check. */
  public static int loads() {
    return LOADS.get();
  }
}
