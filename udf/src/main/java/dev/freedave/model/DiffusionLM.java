package dev.freedave.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * A masked-diffusion language model: token ids in, logits for every position out, with fully
 * bidirectional attention. Implementations are thread-safe for concurrent forwards (weights are
 * read-only) so one instance serves every task of an executor.
 */
public interface DiffusionLM extends AutoCloseable {

  ModelSpec spec();

  /** A fresh manager on the model's device; a caller creates a forward's inputs in it and closes it after. */
  NDManager newScope();

  /**
   * One forward pass.
   *
   * @param ids int64 [B, L]
   * @param keyMask int64 [B, L], nonzero = a real token other positions may attend to; null = all real
   * @param positions int64 [B, L] rotary positions; null = 0..L-1 in every row
   * @param outputIndex int64 [B, W] positions whose logits are wanted; null = all L. Decoders ask only
   *     for the block they decode, so the LM head (the largest matmul of a forward) runs on W, not L
   * @return float32 logits [B, W, V] (W = L without an index), in the manager of {@code ids}
   */
  NDArray logits(NDArray ids, NDArray keyMask, NDArray positions, NDArray outputIndex);

  /** Logits for every position. */
  default NDArray logits(NDArray ids, NDArray keyMask, NDArray positions) {
    return logits(ids, keyMask, positions, null);
  }

  @Override
  void close();
}
