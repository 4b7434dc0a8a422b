package dev.freedave.model;

/**
 * A row of a cached forward that has no cache yet: its queries are the whole row, [0, length), and
 * the fresh keys and values they make become its {@link BlockCache}, as a fill forward's would. It
 * lets one model call carry the rows that start a block together with the rows inside one, where a
 * call costs its dispatch whatever its size (docs/results.md, "One call a step").
 *
 * @param length the row's padded length: its queries and the frozen length of the cache it makes
 * @param visibleEnd the cache's visible end (see {@link #of})
 * @param queryStart first position the row's later cached forwards recompute
 * @param queryEnd end (exclusive) of those positions
 */
public record CacheFill(int length, int visibleEnd, int queryStart, int queryEnd) {
  /**
   * What a fill of a row of real length {@code realLength} freezes: with the prefix policy (and for
   * every block-causal cache) the positions before the query window are visible; with the dual
   * policy the whole row but the window.
   */
  public static CacheFill of(CacheMode mode, int block, int paddedLength, int realLength, int queryStart,
      int queryEnd) {
    int visibleEnd = mode == CacheMode.PREFIX || block > 0 ? queryStart : realLength;
    return new CacheFill(paddedLength, visibleEnd, queryStart, queryEnd);
  }
}
