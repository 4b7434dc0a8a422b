package dev.freedave.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The model the job and the tools use when none is named: the trained arithmetic demo model packaged
 * on the classpath under {@code freedave/default-model/} (copied out once, since safetensors are
 * memory-mapped from disk; TRAINING.json there says how it was made).
 */
public final class DefaultModel {
  /** The model folder name that means "the packaged default model". */
  public static final String NAME = "default";
  static final String RESOURCE = "freedave/default-model/";
  private static final String[] FILES = {"config.json", "model.safetensors", "tokenizer.json", "TRAINING.json"};
  /** Bumped whenever the packaged weights change, so a stale extracted copy is never reused. */
  static final String VERSION = "arith-v1";

  private DefaultModel() {}

  /** A folder holding the default model, extracted under {@code cacheRoot} on first use. */
  public static synchronized Path resolve(Path cacheRoot) {
    ClassLoader cl = DefaultModel.class.getClassLoader();
    if (cl.getResource(RESOURCE + "config.json") == null) {
      throw new ModelLoadException("this build carries no default model (" + RESOURCE + " on the classpath); "
          + "name a model folder");
    }
    Path dir = cacheRoot.resolve("freedave-default-model-" + VERSION);
    if (Files.isRegularFile(dir.resolve("model.safetensors"))) {
      return dir;
    }
    try {
      Path tmp = Files.createTempDirectory(cacheRoot, "default-model");
      for (String f : FILES) {
        try (InputStream in = cl.getResourceAsStream(RESOURCE + f)) {
          Files.copy(in, tmp.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
      }
      try {
        Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
      } catch (java.nio.file.FileAlreadyExistsException raced) {
        // another JVM extracted the same version first
      }
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot extract the default model under " + cacheRoot, e);
    }
  }

  public static Path resolve() {
    return resolve(Path.of(System.getProperty("java.io.tmpdir")));
  }

  /** {@link #NAME} resolved to the extracted folder; any other name as an absolute path. */
  public static Path resolve(String dir) {
    return NAME.equals(dir) ? resolve() : Path.of(dir).toAbsolutePath().normalize();
  }
}
