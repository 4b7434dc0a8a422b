package dev.freedave.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.freedave.testkit.Fixtures;
import dev.freedave.testkit.TinyModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** A cached forward right after the cache was filled equals the cache-free forward. */
class BlockCacheTest {
  @TempDir Path tmp;

  @ParameterizedTest
  @CsvSource({"LLADA,PREFIX", "LLADA,DUAL", "DREAM,PREFIX", "DREAM,DUAL"})
  void cachedForwardOnTheFillStateMatchesTheFullForward(ModelFamily family, CacheMode mode) throws Exception {
    TinyModels.Spec spec = family == ModelFamily.LLADA ? TinyModels.Spec.llada(3) : TinyModels.Spec.qwen2(3);
    try (DiffusionLM model = TinyModels.load(TinyModels.write(tmp.resolve("m"), spec)); NDManager m = model.newScope()) {
      Random r = new Random(1);
      int[] lengths = {14, 11};
      int len = 14;
      int[] qs = {6, 3};
      int[] qe = {10, 7};
      long[] ids = new long[2 * len];
      long[] keep = new long[2 * len];
      for (int b = 0; b < 2; b++) {
        for (int j = 0; j < lengths[b]; j++) {
          ids[b * len + j] = 4 + r.nextInt(60);
          keep[b * len + j] = 1;
        }
      }
      float[] full = model.logits(m.create(ids, new Shape(2, len)), m.create(keep, new Shape(2, len)), null)
          .toFloatArray();
      List<BlockCache> caches = new ArrayList<>();
      model.logitsFillingCache(m.create(ids, new Shape(2, len)), m.create(keep, new Shape(2, len)),
          m.create(new long[] {0, 0}, new Shape(2, 1)), lengths, qs, qe, mode, caches);
      // query windows: prefix = block and after, dual = block only; row 0 twice (two "drafts" sharing a cache)
      int[] rowOf = {0, 0, 1};
      int q = 0;
      int[] qEnd = new int[3];
      for (int i = 0; i < 3; i++) {
        qEnd[i] = mode == CacheMode.PREFIX ? lengths[rowOf[i]] : qe[rowOf[i]];
        q = Math.max(q, qEnd[i] - qs[rowOf[i]]);
      }
      long[] qIds = new long[3 * q];
      long[] qKeep = new long[3 * q];
      long[] out = new long[3 * q];
      List<BlockCache> perSeq = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        int b = rowOf[i];
        perSeq.add(caches.get(b));
        for (int j = 0; j < q; j++) {
          int p = qs[b] + j;
          boolean real = p < qEnd[i];
          qIds[i * q + j] = real ? ids[b * len + p] : 0;
          qKeep[i * q + j] = real ? 1 : 0;
          out[i * q + j] = j;
        }
      }
      float[] cached = model.logitsWithCache(perSeq, m.create(qIds, new Shape(3, q)), m.create(qKeep, new Shape(3, q)),
          m.create(out, new Shape(3, q))).toFloatArray();
      int v = spec.vocab();
      for (int i = 0; i < 3; i++) {
        int b = rowOf[i];
        for (int j = 0; j < qEnd[i] - qs[b]; j++) {
          int p = qs[b] + j;
          float[] a = Arrays.copyOfRange(full, (b * len + p) * v, (b * len + p + 1) * v);
          float[] c = Arrays.copyOfRange(cached, (i * q + j) * v, (i * q + j + 1) * v);
          assertThat(Fixtures.maxAbsDiff(a, c)).as("seq %d pos %d", i, p).isLessThan(1e-4f);
        }
      }
      caches.forEach(BlockCache::close);
    }
  }

  /**
   * After a block token is committed, a cached forward is an approximation (the frozen keys predate
   * the commit); it must still track the change: closer to the fresh full forward than the stale
   * prediction from before the commit is.
   */
  @ParameterizedTest
  @CsvSource({"LLADA,PREFIX", "LLADA,DUAL", "DREAM,PREFIX", "DREAM,DUAL"})
  void cachedForwardTracksACommittedToken(ModelFamily family, CacheMode mode) throws Exception {
    TinyModels.Spec spec = family == ModelFamily.LLADA ? TinyModels.Spec.llada(5) : TinyModels.Spec.qwen2(5);
    try (DiffusionLM model = TinyModels.load(TinyModels.write(tmp.resolve("m"), spec)); NDManager m = model.newScope()) {
      int len = 16;
      int qs = 8;
      int qe = 12;
      long[] s0 = new long[len];
      Random r = new Random(2);
      for (int j = 0; j < len; j++) {
        s0[j] = j < qs ? 4 + r.nextInt(60) : TinyModels.MASK;
      }
      long[] s1 = s0.clone();
      s1[qs + 1] = 17;
      int q = mode == CacheMode.PREFIX ? len - qs : qe - qs;
      long[] out = new long[q];
      long[] fullIdx = new long[q];
      for (int j = 0; j < q; j++) {
        out[j] = j;
        fullIdx[j] = qs + j;
      }
      List<BlockCache> caches = new ArrayList<>();
      float[] before = model.logitsFillingCache(m.create(s0, new Shape(1, len)), null,
          m.create(fullIdx, new Shape(1, q)), new int[] {len}, new int[] {qs}, new int[] {qe}, mode, caches)
          .toFloatArray();
      float[] fresh = model.logits(m.create(s1, new Shape(1, len)), null, null, m.create(fullIdx, new Shape(1, q)))
          .toFloatArray();
      float[] cached = model.logitsWithCache(caches, m.create(Arrays.copyOfRange(s1, qs, qs + q), new Shape(1, q)),
          null, m.create(out, new Shape(1, q))).toFloatArray();
      float stale = Fixtures.maxAbsDiff(before, fresh);
      float approx = Fixtures.maxAbsDiff(cached, fresh);
      assertThat(stale).isGreaterThan(1e-3f);
      assertThat(approx).isLessThan(stale);
      caches.forEach(BlockCache::close);
    }
  }
}
