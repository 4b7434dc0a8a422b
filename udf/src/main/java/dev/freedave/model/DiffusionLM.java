package dev.freedave.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.List;

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

  /**
   * {@link #logits} with block-causal attention (a {@link ModelSpec#blockCausal} model): position p
   * attends to position q only if {@code q / block <= p / block}; positions 0..L-1 in every row.
   */
  default NDArray logitsBlockCausal(NDArray ids, NDArray keyMask, NDArray outputIndex, int block) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " has no block-causal attention");
  }

  /** Whether {@link #logitsFillingCache} and {@link #logitsWithCache} work. */
  default boolean supportsCache() {
    return false;
  }

  /**
   * A full forward (right-padded rows, positions 0..len-1) that also freezes each row's K/V outside
   * its query window [queryStart, queryEnd) into a {@link BlockCache} appended to {@code out}.
   *
   * @param lengths real length of each row
   * @param block > 0: block-causal attention, and the cache holds the positions before queryStart
   *     (the finished blocks); 0: bidirectional
   */
  default NDArray logitsFillingCache(NDArray ids, NDArray keyMask, NDArray outputIndex, int[] lengths,
      int[] queryStart, int[] queryEnd, CacheMode mode, int block, List<BlockCache> out) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " has no KV cache");
  }

  /**
   * One forward over several rows' drafts, each row recomputing only its query window against its
   * own frozen cache: a draft attends to the row's visible frozen keys and to its own fresh keys.
   *
   * @param caches one per row
   * @param ids int64 [R, T]: per row, the query windows of its drafts back to back (draft d at
   *     [d * Q, (d + 1) * Q), Q = the cache's query length), right-padded
   * @param positions int64 [R, T] rotary positions (queryStart + offset in the window)
   * @param drafts int64 [R, T] the draft each query position belongs to; -1 = padding
   * @param outputIndex int64 [R, W] positions in T whose logits are wanted
   * @param block > 0: block-causal, a fresh key is visible to a query of its own block or a later one;
   *     0: a draft's fresh keys are all visible to it
   * @param commitTo per row, a block-causal row whose queries begin with a finished block names the
   *     block's end here: the block's fresh keys and values are appended to a copy of its cache, put
   *     in {@code grown}; a row with nothing to append names its cache's visible end (null: none do)
   * @param fills per row, for a row whose cache is null, the cache its fresh keys make (its queries
   *     are the row from position 0); null: every row has a cache
   * @param grown receives, per row, the cache grown or made by this forward, or null
   * @return float32 logits [R, W, V]
   */
  default NDArray logitsWithCache(List<BlockCache> caches, NDArray ids, NDArray positions, NDArray drafts,
      NDArray outputIndex, int block, int[] commitTo, CacheFill[] fills, BlockCache[] grown) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " has no KV cache");
  }

  /**
   * The greedy pick at every position of {@code logits} [N, W, V] (a forward's output), on the host:
   * the argmax over the vocabulary without the id {@code excluded}, and the sum over that vocabulary
   * of exp(logit - max), whose inverse is the pick's softmax probability; flat over [N, W] each. This
   * default reduces on the device in DJL ops and reads both results back; a model may do it in one
   * call (each DJL op costs 13-40 µs of host time on a GPU, a step's share of a small model's forward).
   */
  default Picks greedy(NDArray logits, int excluded) {
    int vocab = (int) logits.getShape().get(2);
    // added as a bias, not written in place: a forward's logits may be read-only (inference tensors)
    NDArray bias = logits.getManager().zeros(new Shape(vocab));
    bias.set(new NDIndex("{}", excluded), Float.NEGATIVE_INFINITY);
    NDArray masked = logits.add(bias);
    NDArray max = masked.max(new int[] {-1}, true); // [N, W, 1]
    int[] argmax = masked.argMax(-1).toType(DataType.INT32, false).toIntArray();
    return new Picks(argmax, masked.sub(max).exp().sum(new int[] {-1}).toFloatArray());
  }

  /** {@link #greedy}'s result: per position the token and the sum of exp(logit - max) beside it. */
  record Picks(int[] tokens, float[] expSums) {}

  @Override
  void close();
}
