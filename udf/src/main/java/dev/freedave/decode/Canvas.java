package dev.freedave.decode;

import dev.freedave.model.ModelSpec;
import java.util.Arrays;

/**
 * A row's state {@code s}: prompt tokens, then the generated positions, each a token or the mask id.
 * Positions below are gen-relative (0 = first generated position).
 */
final class Canvas {
  final int[] tokens;
  final int promptLength;
  final int genLength;
  final int blockLength;
  final int mask;

  Canvas(int[] prompt, DecodeConfig cfg, int mask) {
    this.promptLength = prompt.length;
    this.genLength = cfg.genLength();
    this.blockLength = cfg.blockLength();
    this.mask = mask;
    this.tokens = Arrays.copyOf(prompt, prompt.length + genLength);
    Arrays.fill(tokens, prompt.length, tokens.length, mask);
  }

  private Canvas(Canvas o) {
    this.tokens = o.tokens.clone();
    this.promptLength = o.promptLength;
    this.genLength = o.genLength;
    this.blockLength = o.blockLength;
    this.mask = o.mask;
  }

  Canvas copy() {
    return new Canvas(this);
  }

  int get(int genPos) {
    return tokens[promptLength + genPos];
  }

  void set(int genPos, int token) {
    tokens[promptLength + genPos] = token;
  }

  boolean masked(int genPos) {
    return get(genPos) == mask;
  }

  /** The first block that still has a mask; {@code numBlocks} when the row is complete. */
  int currentBlock() {
    for (int p = 0; p < genLength; p++) {
      if (masked(p)) {
        return p / blockLength;
      }
    }
    return genLength / blockLength;
  }

  int blockStart(int block) {
    return block * blockLength;
  }

  int maskedInBlock(int block) {
    int n = 0;
    for (int p = blockStart(block); p < blockStart(block + 1); p++) {
      n += masked(p) ? 1 : 0;
    }
    return n;
  }

  /** Generated positions that hold a token, i.e. progress; seeds the sampling noise. */
  int decodedCount() {
    int n = 0;
    for (int p = 0; p < genLength; p++) {
      n += masked(p) ? 0 : 1;
    }
    return n;
  }

  /**
   * Whether decoding is over: every block is complete, or (early exit) the last completed block is
   * all end tokens.
   */
  boolean finished(ModelSpec spec, boolean earlyExit) {
    int cb = currentBlock();
    if (cb == genLength / blockLength) {
      return true;
    }
    if (!earlyExit || cb == 0 || spec.endTokenIds().isEmpty()) {
      return false;
    }
    for (int p = blockStart(cb - 1); p < blockStart(cb); p++) {
      if (!spec.isEnd(get(p))) {
        return false;
      }
    }
    return true;
  }

  /** Fills the positions left masked after an early exit with {@code token}. */
  void fillMasked(int token) {
    for (int p = 0; p < genLength; p++) {
      if (masked(p)) {
        set(p, token);
      }
    }
  }

  int[] generated() {
    return Arrays.copyOfRange(tokens, promptLength, tokens.length);
  }

  boolean sameTokens(Canvas o) {
    return Arrays.equals(tokens, o.tokens);
  }
}
