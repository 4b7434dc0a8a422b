package dev.freedave.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * One row's frozen keys and values for the block being decoded: per layer [1, Hkv, F, hd], F the
 * frozen positions (the prefix, plus the suffix after the block for {@link CacheMode#DUAL}). Every
 * draft of the row attends to this one copy.
 *
 * @param queryStart first absolute position a cached forward recomputes
 * @param queryEnd end (exclusive) of the recomputed positions
 */
public record BlockCache(NDManager manager, NDArray[] keys, NDArray[] values, int queryStart, int queryEnd)
    implements AutoCloseable {

  public int queryLength() {
    return queryEnd - queryStart;
  }

  @Override
  public void close() {
    manager.close();
  }
}
