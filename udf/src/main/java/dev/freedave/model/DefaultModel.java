package dev.freedave.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The model the tools use when none is named: the trained arithmetic demo model packaged on the
 * classpath under {@code freedave/default-model/} (copied out once, since safetensors are
 * memory-mapped from disk; see TRAINING.json there for how it was made), else a seeded random
 * checkpoint written on first use.
 */
public final class DefaultModel {
  static final String RESOURCE = "freedave/default-model/";
  private static final String[] FILES = {"config.json", "model.safetensors", "tokenizer.json", "TRAINING.json"};
  /** Bumped whenever the packaged weights change, so a stale extracted copy is never reused. */
  static final String VERSION = "arith-v1";
  /** The random stand-in: LLaDA naming, 4 layers, small enough for 2 CPU cores. */
  static final TinyModels.Spec STAND_IN = TinyModels.Spec.llada(20261127).withSize(64, 64, 4, 4, 4, 128);

  private DefaultModel() {}

  /** A folder holding the default model; {@code cacheRoot} receives it when it has to be made. */
  public static synchronized Path resolve(Path cacheRoot) {
    try {
      ClassLoader cl = DefaultModel.class.getClassLoader();
      if (cl.getResource(RESOURCE + "config.json") != null) {
        Path dir = cacheRoot.resolve("freedave-default-model-" + VERSION);
        if (!Files.isRegularFile(dir.resolve("model.safetensors"))) {
          Path tmp = Files.createTempDirectory(cacheRoot, "default-model");
          for (String f : FILES) {
            try (InputStream in = cl.getResourceAsStream(RESOURCE + f)) {
              if (in != null) {
                Files.copy(in, tmp.resolve(f), StandardCopyOption.REPLACE_EXISTING);
              }
            }
          }
          try {
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
          } catch (java.nio.file.FileAlreadyExistsException raced) {
            // another JVM extracted the same version first
          }
        }
        return dir;
      }
      Path dir = cacheRoot.resolve("freedave-random-model-" + STAND_IN.seed());
      if (!Files.isRegularFile(dir.resolve("model.safetensors"))) {
        Path tmp = Files.createTempDirectory(cacheRoot, "random-model");
        TinyModels.write(tmp, STAND_IN);
        try {
          Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (java.nio.file.FileAlreadyExistsException raced) {
          // another JVM wrote the same seeded folder first
        }
      }
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare the default model under " + cacheRoot, e);
    }
  }

  public static Path resolve() {
    return resolve(Path.of(System.getProperty("java.io.tmpdir")));
  }
}
