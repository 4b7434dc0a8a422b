package dev.freedave.testkit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.freedave.model.BlockCache;
import dev.freedave.model.CacheFill;
import dev.freedave.model.CacheMode;
import dev.freedave.model.DiffusionLM;
import dev.freedave.model.ModelSpec;
import java.util.List;

/**
 * A model that passes every forward to {@code inner}, for tests that watch or alter one of them.
 * Its greedy pick is the interface's DJL default, not the inner model's own; closing it leaves the
 * inner model, which its caller owns, open.
 */
public class ForwardingModel implements DiffusionLM {
  protected final DiffusionLM inner;

  public ForwardingModel(DiffusionLM inner) {
    this.inner = inner;
  }

  @Override
  public ModelSpec spec() {
    return inner.spec();
  }

  @Override
  public NDManager newScope() {
    return inner.newScope();
  }

  @Override
  public NDArray logits(NDArray ids, NDArray keyMask, NDArray positions, NDArray outputIndex) {
    return inner.logits(ids, keyMask, positions, outputIndex);
  }

  @Override
  public NDArray logitsBlockCausal(NDArray ids, NDArray keyMask, NDArray outputIndex, int block) {
    return inner.logitsBlockCausal(ids, keyMask, outputIndex, block);
  }

  @Override
  public boolean supportsCache() {
    return inner.supportsCache();
  }

  @Override
  public NDArray logitsFillingCache(NDArray ids, NDArray keyMask, NDArray outputIndex, int[] lengths,
      int[] queryStart, int[] queryEnd, CacheMode mode, int block, List<BlockCache> out) {
    return inner.logitsFillingCache(ids, keyMask, outputIndex, lengths, queryStart, queryEnd, mode, block, out);
  }

  @Override
  public NDArray logitsWithCache(List<BlockCache> caches, NDArray ids, NDArray positions, NDArray drafts,
      NDArray outputIndex, int block, int[] commitTo, CacheFill[] fills, BlockCache[] grown) {
    return inner.logitsWithCache(caches, ids, positions, drafts, outputIndex, block, commitTo, fills, grown);
  }

  @Override
  public void close() {}
}
