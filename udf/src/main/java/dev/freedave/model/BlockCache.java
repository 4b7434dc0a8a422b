package dev.freedave.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;

/**
 * One row's frozen keys and values for the block being decoded, [layers, 1, Hkv, F, hd] each (laid
 * out as a stack of one row, which is how a cached forward takes the caches of its rows): the
 * rotated K/V of the fill forward at positions [0, F), F the fill's padded length. A cached query
 * attends to the positions below {@code visibleEnd} outside [hiddenStart, hiddenEnd): the prefix
 * cache sees the prefix, the dual cache the whole row but the query window, whose keys every cached
 * forward computes afresh. Every draft of the row attends to this one copy.
 *
 * @param queryStart first absolute position a cached forward recomputes
 * @param queryEnd end (exclusive) of the recomputed positions
 * @param batch the fill this cache is row {@code batchRow} of, which it releases when closed; null
 *     where the cache is its own (grown, or copied out of a joined call)
 */
public record BlockCache(NDManager manager, NDArray keys, NDArray values, int frozenLength, int visibleEnd,
    int hiddenStart, int hiddenEnd, int queryStart, int queryEnd, FillBatch batch, int batchRow)
    implements AutoCloseable {

  public int queryLength() {
    return queryEnd - queryStart;
  }

  /** Whether a cached query attends to frozen position {@code p}. */
  public boolean visible(int p) {
    return p < Math.min(visibleEnd, frozenLength) && (p < hiddenStart || p >= hiddenEnd);
  }

  /**
   * Whether {@code caches} are two or more rows of one fill, in its order, all of them (padding
   * copies included). One row's cache is read where it lies anyway, with nothing to concatenate; and
   * libtorch's graph executor specialises the core's methods on their inputs' ranks, so one-row calls
   * keep the one form they always had.
   */
  public static boolean oneFill(List<BlockCache> caches) {
    FillBatch b = caches.get(0).batch();
    if (b == null || caches.size() < 2 || b.rows() != caches.size()) {
      return false;
    }
    for (int i = 0; i < caches.size(); i++) {
      if (caches.get(i).batch() != b || caches.get(i).batchRow() != i) {
        return false;
      }
    }
    return true;
  }

  @Override
  public void close() {
    if (manager.isOpen()) {
      manager.close();
      if (batch != null) {
        batch.release();
      }
    }
  }
}
