package dev.freedave.spark;

import ai.djl.Device;
import dev.freedave.model.ComputeDtype;
import dev.freedave.model.DefaultModel;
import dev.freedave.model.LoadedModel;
import dev.freedave.model.ModelFolder;
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
  private static final Map<String, LoadedModel> MODELS = new ConcurrentHashMap<>();
  private static final Map<String, AtomicInteger> LOADS = new ConcurrentHashMap<>();

  private ExecutorModels() {}

  public static LoadedModel get(String dir, ComputeDtype dtype, Device device) {
    return MODELS.computeIfAbsent(key(dir, dtype, device), k -> {
      Path path = DefaultModel.resolve(dir);
      try {
        LOADS.computeIfAbsent(k, x -> new AtomicInteger()).incrementAndGet();
        return ModelFolder.open(path).load(dtype, device);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot load model " + dir, e);
      }
    });
  }

  /** How often this JVM has loaded this model, for the one-load-per-executor check. */
  public static int loads(String dir, ComputeDtype dtype, Device device) {
    AtomicInteger n = LOADS.get(key(dir, dtype, device));
    return n == null ? 0 : n.get();
  }

  private static String key(String dir, ComputeDtype dtype, Device device) {
    return DefaultModel.resolve(dir) + "|" + dtype + "|" + device;
  }
}
