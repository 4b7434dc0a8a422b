package dev.freedave.tools;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.freedave.model.BlockCache;
import dev.freedave.model.CacheMode;
import dev.freedave.model.DiffusionLM;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The cost of verifying K drafts in one forward relative to one forward: K full sequences without a
 * cache, K block-length query windows against one shared dual cache.
 */
final class CacheCost {
  private CacheCost() {}

  static Map<String, Object> measure(DiffusionLM lm, int promptLength, int genLength, int blockLength,
      List<Integer> ks) {
    int len = promptLength + genLength;
    int vocab = lm.spec().vocabSize();
    Random r = new Random(0);
    long[] row = new long[len];
    Arrays.setAll(row, i -> 4 + r.nextInt(vocab - 4));
    int qs = promptLength;
    int qe = promptLength + blockLength;
    Map<String, Object> out = new LinkedHashMap<>();
    try (NDManager m = lm.newScope()) {
      List<BlockCache> caches = new ArrayList<>();
      lm.logitsFillingCache(m.create(row, new Shape(1, len)), null, m.create(new long[] {qs}, new Shape(1, 1)),
          new int[] {len}, new int[] {qs}, new int[] {qe}, CacheMode.DUAL, caches);
      BlockCache cache = caches.get(0);
      double noCache1 = 0;
      double cached1 = 0;
      System.out.printf("%nverification cost (prompt %d, gen %d, block %d): K drafts in one forward / one forward%n",
          promptLength, genLength, blockLength);
      for (int k : ks) {
        long[] ids = new long[k * len];
        long[] window = new long[k * blockLength];
        long[] positions = new long[k * blockLength];
        long[] drafts = new long[k * blockLength];
        long[] index = new long[k * blockLength];
        for (int i = 0; i < k; i++) {
          System.arraycopy(row, 0, ids, i * len, len);
          System.arraycopy(row, qs, window, i * blockLength, blockLength);
          for (int j = 0; j < blockLength; j++) {
            positions[i * blockLength + j] = qs + j;
            drafts[i * blockLength + j] = i;
            index[i * blockLength + j] = i * blockLength + j;
          }
        }
        double full = median(() -> {
          try (NDManager s = lm.newScope()) {
            NDArray idx = s.create(Arrays.stream(index).map(j -> j % blockLength + qs).toArray(), new Shape(k, blockLength));
            lm.logits(s.create(ids, new Shape(k, len)), null, null, idx).toFloatArray();
          }
        });
        double withCache = median(() -> {
          try (NDManager s = lm.newScope()) {
            lm.logitsWithCache(List.of(cache), s.create(window, new Shape(1, k * blockLength)),
                s.create(positions, new Shape(1, k * blockLength)), s.create(drafts, new Shape(1, k * blockLength)),
                s.create(index, new Shape(1, k * blockLength))).toFloatArray();
          }
        });
        if (k == ks.get(0)) {
          noCache1 = full;
          cached1 = withCache;
        }
        System.out.printf(Locale.ROOT, "K=%-3d no cache %7.2f ms (%.2fx)   dual cache %7.2f ms (%.2fx)%n", k, full,
            full / noCache1, withCache, withCache / cached1);
        out.put("k" + k, Map.of("no_cache_ms", full, "no_cache_ratio", full / noCache1, "dual_cache_ms", withCache,
            "dual_cache_ratio", withCache / cached1));
      }
      cache.close();
    }
    return out;
  }

  private static double median(Runnable forward) {
    for (int i = 0; i < 3; i++) {
      forward.run();
    }
    double[] ms = new double[15];
    for (int i = 0; i < ms.length; i++) {
      long t0 = System.nanoTime();
      forward.run();
      ms[i] = (System.nanoTime() - t0) / 1e6;
    }
    Arrays.sort(ms);
    return ms[ms.length / 2];
  }
}
