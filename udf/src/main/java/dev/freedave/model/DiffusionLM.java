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
   * @param keyMask int64 or boolean [B, L], nonzero = a real token other positions may attend to; null = all real
   * @param positions int64 [B, L] rotary positions; null = 0..L-1 in every row
   * @return float32 logits [B, L, V], in the manager of {@code ids}
   */
  NDArray logits(NDArray ids, NDArray keyMask, NDArray positions);

  @Override
  void close();
}
