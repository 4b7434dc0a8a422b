package dev.freedave.model;

/** A model folder that cannot be used: raised while loading, before any decoding starts. */
public class ModelLoadException extends RuntimeException {
  public ModelLoadException(String message) {
    super(message);
  }

  public ModelLoadException(String message, Throwable cause) {
    super(message, cause);
  }
}
