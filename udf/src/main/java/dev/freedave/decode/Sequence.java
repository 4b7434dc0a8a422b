package dev.freedave.decode;

/**
 * One sequence of a batched forward: a row's state (or one of its drafts) and the block whose
 * prediction it needs.
 *
 * @param windowStart gen-relative first position of the block to predict
 */
record Sequence(int[] tokens, int promptLength, int windowStart, int windowLength, long seed, int decodedCount,
    double temperature) {

  static Sequence of(Canvas c, long seed, double temperature) {
    int block = c.currentBlock();
    return new Sequence(c.tokens, c.promptLength, c.blockStart(block), c.blockLength, seed, c.decodedCount(),
        temperature);
  }
}
