package dev.freedave.decode;

import dev.freedave.model.CacheMode;
import java.util.Locale;

/**
 * How to decode a row. Static decoding with {@code steps == genLength} is one token per step, the
 * reference FreeDave reproduces.
 *
 * @param method which decoder
 * @param genLength generated positions after the prompt
 * @param blockLength semi-autoregressive block; {@code genLength} must be a multiple of it
 * @param steps static steps in all; a multiple of the number of blocks, at most {@code genLength}
 * @param draftSteps FreeDave / FreeDave++ drafts per round (K); ignored by the others
 * @param threshold confidence threshold τ of threshold decoding and FreeDave++
 * @param temperature 0 = greedy; above 0 Gumbel-max with per-(seed, position, progress) noise
 * @param eosEarlyExit stop a row once a completed block is all end tokens, filling the rest with EOS
 * @param cache block KV cache policy; static and FreeDave use the same one, so FreeDave stays
 *     token-identical to static decoding with that cache
 */
public record DecodeConfig(Method method, int genLength, int blockLength, int steps, int draftSteps,
    double threshold, double temperature, boolean eosEarlyExit, CacheMode cache) implements java.io.Serializable {

  /** The decoders. */
  public enum Method {
    STATIC("static"),
    THRESHOLD("threshold"),
    FREEDAVE("freedave"),
    FREEDAVE_PP("freedave++");

    public final String label;

    Method(String label) {
      this.label = label;
    }

    public static Method parse(String s) {
      String k = s.trim().toLowerCase(Locale.ROOT);
      for (Method m : values()) {
        if (m.label.equals(k) || m.name().toLowerCase(Locale.ROOT).equals(k)) {
          return m;
        }
      }
      throw new IllegalArgumentException("unknown decoder '" + s + "' (static, threshold, freedave, freedave++)");
    }

    public boolean drafts() {
      return this == FREEDAVE || this == FREEDAVE_PP;
    }

    public boolean thresholdBased() {
      return this == THRESHOLD || this == FREEDAVE_PP;
    }
  }

  public DecodeConfig {
    check(genLength > 0, "gen_length must be positive, got %d", genLength);
    check(blockLength > 0 && genLength % blockLength == 0,
        "gen_length %d must be a positive multiple of block_length %d", genLength, blockLength);
    int blocks = genLength / blockLength;
    check(steps > 0 && steps % blocks == 0, "steps %d must be a positive multiple of the %d blocks", steps, blocks);
    check(steps <= genLength, "steps %d must not exceed gen_length %d", steps, genLength);
    check(!method.drafts() || draftSteps >= 1, "draft_steps must be at least 1, got %d", draftSteps);
    check(!method.thresholdBased() || (threshold > 0 && threshold <= 1), "threshold must be in (0, 1], got %s",
        threshold);
    check(temperature >= 0, "temperature must be >= 0, got %s", temperature);
    check(cache != null, "cache must be none, prefix or dual");
  }

  /** Without a KV cache. */
  public DecodeConfig(Method method, int genLength, int blockLength, int steps, int draftSteps, double threshold,
      double temperature, boolean eosEarlyExit) {
    this(method, genLength, blockLength, steps, draftSteps, threshold, temperature, eosEarlyExit, CacheMode.NONE);
  }

  /** One token per step, greedy, early exit on EOS blocks. */
  public static DecodeConfig of(Method method, int genLength, int blockLength, int draftSteps, double threshold) {
    return new DecodeConfig(method, genLength, blockLength, genLength, draftSteps, threshold, 0, true);
  }

  public DecodeConfig withMethod(Method m) {
    return new DecodeConfig(m, genLength, blockLength, steps, draftSteps, threshold, temperature, eosEarlyExit, cache);
  }

  public DecodeConfig withCache(CacheMode c) {
    return new DecodeConfig(method, genLength, blockLength, steps, draftSteps, threshold, temperature, eosEarlyExit, c);
  }

  public int numBlocks() {
    return genLength / blockLength;
  }

  public int stepsPerBlock() {
    return steps / numBlocks();
  }

  /**
   * Tokens unmasked by each static step of a block (LLaDA: the remainder goes to the first steps).
   * Every block starts fully masked, so one schedule serves all blocks.
   */
  public int[] blockSchedule() {
    int n = stepsPerBlock();
    int[] s = new int[n];
    for (int i = 0; i < n; i++) {
      s[i] = blockLength / n + (i < blockLength % n ? 1 : 0);
    }
    return s;
  }

  /**
   * Why a block-causal model cannot decode with this config, or null: several tokens per step (the
   * block-causal decoders of its authors unmask one per step, and a leading block's schedule is only
   * defined for that), or the dual cache (nothing after the block is visible, so the cache is the
   * prefix, and exact).
   */
  public String blockCausalProblem() {
    if (steps != genLength) {
      return "a block-causal model decodes one token per step: steps must equal gen_length " + genLength + ", got "
          + steps;
    }
    if (cache == CacheMode.DUAL) {
      return "a block-causal model sees nothing after its block, so its cache is the exact prefix cache: "
          + "use cache = prefix (or none)";
    }
    return null;
  }

  /** A short stable label, e.g. {@code freedave(k=8,block=32,gen=128)}. */
  public String label() {
    StringBuilder b = new StringBuilder(method.label).append('(');
    if (method.drafts()) {
      b.append("k=").append(draftSteps).append(',');
    }
    if (method.thresholdBased()) {
      b.append("tau=").append(threshold).append(',');
    }
    b.append("block=").append(blockLength).append(",gen=").append(genLength);
    if (steps != genLength) {
      b.append(",steps=").append(steps);
    }
    if (temperature > 0) {
      b.append(",temp=").append(temperature);
    }
    if (cache != CacheMode.NONE) {
      b.append(",cache=").append(cache.label());
    }
    return b.append(')').toString();
  }

  private static void check(boolean ok, String fmt, Object... args) {
    if (!ok) {
      throw new IllegalArgumentException(String.format(Locale.ROOT, fmt, args));
    }
  }
}
