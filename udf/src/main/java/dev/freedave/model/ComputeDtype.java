package dev.freedave.model;

import ai.djl.ndarray.types.DataType;
import java.util.Locale;

/**
 * The dtype a model's large matrices are stored and multiplied in. One parser for every place a
 * user names it (job config, command-line flags), and it refuses what it does not know.
 */
public enum ComputeDtype {
  FLOAT32(DataType.FLOAT32, "float32", "fp32"),
  FLOAT16(DataType.FLOAT16, "float16", "fp16");

  private final DataType djl;
  private final String name;
  private final String shortName;

  ComputeDtype(DataType djl, String name, String shortName) {
    this.djl = djl;
    this.name = name;
    this.shortName = shortName;
  }

  /** float32 / fp32 or float16 / fp16, any case; anything else is an error that names the value. */
  public static ComputeDtype parse(String s) {
    String k = s.trim().toLowerCase(Locale.ROOT);
    for (ComputeDtype d : values()) {
      if (d.name.equals(k) || d.shortName.equals(k)) {
        return d;
      }
    }
    throw new IllegalArgumentException("unknown compute dtype '" + s + "' (float32, float16)");
  }

  public DataType djl() {
    return djl;
  }

  /** As configs spell it: float32, float16. */
  public String label() {
    return name;
  }
}
