package dev.freedave.decode;

import dev.freedave.model.BlockCache;
import dev.freedave.model.CacheMode;

/**
 * One sequence of a batched forward: a row's state (or one of its drafts) and the block whose
 * prediction it needs.
 *
 * @param windowStart gen-relative first position of the block to predict
 * @param cache the row's frozen K/V to attend to (a cached forward), or null (a full forward)
 * @param mode the row's cache policy; a full forward under a policy also freezes the row's cache
 */
record Sequence(int[] tokens, int promptLength, int windowStart, int windowLength, long seed, int decodedCount,
    double temperature, BlockCache cache, CacheMode mode) {
}
