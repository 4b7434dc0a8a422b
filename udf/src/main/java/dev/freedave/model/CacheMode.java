package dev.freedave.model;

import java.util.Locale;

/**
 * Block KV cache policy (Fast-dLLM). At each block start one full forward freezes per-layer K/V;
 * within the block, forwards recompute only their queries and attend to the frozen keys.
 */
public enum CacheMode {
  /** Every forward recomputes the whole sequence. */
  NONE,
  /** Frozen: the prefix before the block. Queries: the block and everything after it. */
  PREFIX,
  /** Frozen: the prefix and the positions after the block. Queries: the block only. */
  DUAL;

  public static CacheMode parse(String s) {
    try {
      return valueOf(s.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("unknown cache '" + s + "' (none, prefix, dual)");
    }
  }

  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
