package dev.freedave.decode;

import dev.freedave.model.ModelSpec;
import java.util.Arrays;

/**
 * A row's state {@code s}: prompt tokens, then the generated positions, each a token or the mask id.
 * Positions below are gen-relative (0 = first generated position).
 *
 * <p>Blocks follow the prompt (LLaDA, Dream: block 0 starts at the first generated position), or,
 * for a block-causal model, sit at absolute multiples of the block length as it was trained with:
 * the first block then begins inside the prompt ({@code lead} prompt tokens, unmasked from the
 * start) and the generated positions run to the block boundary at or after prompt + gen_length.
 */
final class Canvas {
  final int[] tokens;
  final int promptLength;
  final int genLength;
  final int blockLength;
  /** Prompt positions inside the first block: 0, or prompt length mod block length when block-aligned. */
  final int lead;
  final int mask;

  Canvas(int[] prompt, DecodeConfig cfg, int mask, boolean blockAligned) {
    this.promptLength = prompt.length;
    this.blockLength = cfg.blockLength();
    this.lead = blockAligned ? prompt.length % blockLength : 0;
    this.genLength = cfg.genLength() + (lead == 0 ? 0 : blockLength - lead);
    this.mask = mask;
    this.tokens = Arrays.copyOf(prompt, prompt.length + genLength);
    Arrays.fill(tokens, prompt.length, tokens.length, mask);
  }

  private Canvas(Canvas o) {
    this.tokens = o.tokens.clone();
    this.promptLength = o.promptLength;
    this.genLength = o.genLength;
    this.blockLength = o.blockLength;
    this.lead = o.lead;
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

  int numBlocks() {
    return (genLength + lead) / blockLength;
  }

  /** The first block that still has a mask; {@link #numBlocks} when the row is complete. */
  int currentBlock() {
    for (int p = 0; p < genLength; p++) {
      if (masked(p)) {
        return (p + lead) / blockLength;
      }
    }
    return numBlocks();
  }

  /** First generated position of {@code block}. */
  int blockStart(int block) {
    return Math.max(0, block * blockLength - lead);
  }

  /** End (exclusive) of {@code block}'s generated positions. */
  int blockEnd(int block) {
    return (block + 1) * blockLength - lead;
  }

  /** Absolute position where {@code block} begins (inside the prompt for a leading block). */
  int absoluteBlockStart(int block) {
    return promptLength - lead + block * blockLength;
  }

  int maskedInBlock(int block) {
    int n = 0;
    for (int p = blockStart(block); p < blockEnd(block); p++) {
      n += masked(p) ? 1 : 0;
    }
    return n;
  }

  /** Positions of {@code block} that were tokens before any step: a leading block's prompt part. */
  int givenInBlock(int block) {
    return blockLength - (blockEnd(block) - blockStart(block));
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
    if (cb == numBlocks()) {
      return true;
    }
    if (!earlyExit || cb == 0 || spec.endTokenIds().isEmpty()) {
      return false;
    }
    for (int p = blockStart(cb - 1); p < blockEnd(cb - 1); p++) {
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
