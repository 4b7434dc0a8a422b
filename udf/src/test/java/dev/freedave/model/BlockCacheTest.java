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

/**
 * The block KV cache: a cached forward right after the fill equals the cache-free forward; the
 * batched cached forward (ragged rows, several drafts each, one call) equals the same rows run one
 * at a time; and after a commit the cached forward tracks the change.
 */
class BlockCacheTest {
  @TempDir Path tmp;

  private DiffusionLM tiny(ModelFamily family, long seed) throws Exception {
    TinyModels.Spec spec = family == ModelFamily.LLADA ? TinyModels.Spec.llada(seed) : TinyModels.Spec.qwen2(seed);
    return TinyModels.load(TinyModels.write(tmp.resolve("m" + seed), spec));
  }

  /**
   * Fills caches for right-padded rows, query windows [qs, qe) with the dual cache; with the prefix
   * cache the window runs to the end of the row (qe is ignored), as the decoders ask.
   */
  private static List<BlockCache> fill(DiffusionLM model, NDManager m, long[][] rows, int[] qs, int[] qe,
      CacheMode mode) {
    int len = Arrays.stream(rows).mapToInt(r -> r.length).max().orElseThrow();
    long[] ids = new long[rows.length * len];
    long[] keep = new long[rows.length * len];
    int[] lengths = new int[rows.length];
    int[] ends = new int[rows.length];
    for (int b = 0; b < rows.length; b++) {
      lengths[b] = rows[b].length;
      ends[b] = mode == CacheMode.PREFIX ? rows[b].length : qe[b];
      for (int j = 0; j < rows[b].length; j++) {
        ids[b * len + j] = rows[b][j];
        keep[b * len + j] = 1;
      }
    }
    List<BlockCache> caches = new ArrayList<>();
    model.logitsFillingCache(m.create(ids, new Shape(rows.length, len)), m.create(keep, new Shape(rows.length, len)),
        m.create(new long[rows.length], new Shape(rows.length, 1)), lengths, qs, ends, mode, 0, caches);
    return caches;
  }

  /**
   * One cached forward over rows whose drafts are {@code drafts[r][d]} (a query window's tokens each);
   * returns the logits of every real query position, [row][draft][position][vocab] flattened per draft.
   */
  private static float[][][] cached(DiffusionLM model, NDManager m, List<BlockCache> caches, long[][][] drafts) {
    int r = caches.size();
    int t = 0;
    for (int i = 0; i < r; i++) {
      t = Math.max(t, drafts[i].length * caches.get(i).queryLength());
    }
    long[] ids = new long[r * t];
    long[] pos = new long[r * t];
    long[] draft = new long[r * t];
    long[] index = new long[r * t];
    Arrays.fill(draft, -1);
    for (int i = 0; i < r; i++) {
      BlockCache c = caches.get(i);
      int q = c.queryLength();
      for (int j = 0; j < t; j++) {
        pos[i * t + j] = c.queryStart() + (j < drafts[i].length * q ? j % q : 0);
        index[i * t + j] = j;
      }
      for (int d = 0; d < drafts[i].length; d++) {
        for (int j = 0; j < q; j++) {
          ids[i * t + d * q + j] = drafts[i][d][j];
          draft[i * t + d * q + j] = d;
        }
      }
    }
    float[] all = model.logitsWithCache(caches, m.create(ids, new Shape(r, t)), m.create(pos, new Shape(r, t)),
        m.create(draft, new Shape(r, t)), m.create(index, new Shape(r, t)), 0, null, null, null).toFloatArray();
    int v = model.spec().vocabSize();
    float[][][] out = new float[r][][];
    for (int i = 0; i < r; i++) {
      int q = caches.get(i).queryLength();
      out[i] = new float[drafts[i].length][];
      for (int d = 0; d < drafts[i].length; d++) {
        out[i][d] = Arrays.copyOfRange(all, (i * t + d * q) * v, (i * t + (d + 1) * q) * v);
      }
    }
    return out;
  }

  private static long[] tokens(Random r, int n) {
    long[] t = new long[n];
    for (int i = 0; i < n; i++) {
      t[i] = 4 + r.nextInt(60);
    }
    return t;
  }

  @ParameterizedTest
  @CsvSource({"LLADA,PREFIX", "LLADA,DUAL", "DREAM,PREFIX", "DREAM,DUAL"})
  void cachedForwardOnTheFillStateMatchesTheFullForward(ModelFamily family, CacheMode mode) throws Exception {
    try (DiffusionLM model = tiny(family, 3); NDManager m = model.newScope()) {
      Random r = new Random(1);
      long[][] rows = {tokens(r, 14), tokens(r, 11)};
      int[] qs = {6, 3};
      int[] qe = {10, 7};
      List<BlockCache> caches = fill(model, m, rows, qs, qe, mode);
      // row 0 twice (two drafts sharing its cache), row 1 once; each draft holds the fill state's tokens
      long[][][] drafts = new long[2][][];
      for (int i = 0; i < 2; i++) {
        int q = caches.get(i).queryLength();
        long[] window = Arrays.copyOfRange(rows[i], qs[i], qs[i] + q);
        drafts[i] = i == 0 ? new long[][] {window, window} : new long[][] {window};
      }
      float[][][] got = cached(model, m, caches, drafts);
      int v = model.spec().vocabSize();
      for (int i = 0; i < 2; i++) {
        float[] full = model.logits(m.create(rows[i], new Shape(1, rows[i].length)), null, null).toFloatArray();
        int q = caches.get(i).queryLength();
        for (int d = 0; d < drafts[i].length; d++) {
          float[] want = Arrays.copyOfRange(full, qs[i] * v, (qs[i] + q) * v);
          assertThat(Fixtures.maxAbsDiff(got[i][d], want)).as("row %d draft %d", i, d).isLessThan(1e-4f);
        }
      }
      caches.forEach(BlockCache::close);
    }
  }

  /**
   * The batched path against the per-row path: ragged rows, different drafts, one call vs one call per
   * row; with several rows' frozen keys concatenated in every layer (the default at these sizes) and
   * written into one buffer (what large caches take: a concatenation limit of 0 bytes forces it), and
   * with rows frozen at one length stacked by the caller (the path CUDA graphs take); a call over
   * exactly one fill's rows, which reads that fill's tensors ({@link FillBatch}) in the first two, and
   * one over that fill's rows in another order (one length, several tensors).
   */
  @ParameterizedTest
  @CsvSource({"LLADA,PREFIX,concat", "LLADA,DUAL,concat", "DREAM,PREFIX,concat", "DREAM,DUAL,concat",
      "LLADA,DUAL,buffer", "DREAM,PREFIX,buffer", "LLADA,DUAL,stacked", "DREAM,PREFIX,stacked"})
  void batchedCachedAttentionEqualsThePerRowPath(ModelFamily family, CacheMode mode, String keys) throws Exception {
    DiffusionLM loaded;
    if (keys.equals("buffer")) {
      System.setProperty(TransformerCore.CONCAT_BYTES, "0");
    }
    if (keys.equals("stacked")) {
      System.setProperty(TransformerCore.STACKED_CACHES, "true"); // the path CUDA graphs take
    }
    try {
      loaded = tiny(family, 8);
    } finally {
      System.clearProperty(TransformerCore.CONCAT_BYTES);
      System.clearProperty(TransformerCore.STACKED_CACHES);
    }
    try (DiffusionLM model = loaded; NDManager m = model.newScope()) {
      Random r = new Random(5);
      int n = 5;
      long[][] rows = new long[n][];
      int[] qs = new int[n];
      int[] qe = new int[n];
      for (int i = 0; i < n; i++) {
        rows[i] = tokens(r, i == 0 ? 25 : 9 + r.nextInt(12)); // row 0 longer than all: the two fills differ
        qs[i] = 1 + r.nextInt(rows[i].length - 4);
        qe[i] = qs[i] + 2 + r.nextInt(Math.min(6, rows[i].length - qs[i] - 1));
      }
      // two fills: within one, rows share a frozen length (one stack); across them they do not (row copies)
      List<BlockCache> caches = new ArrayList<>(fill(model, m, Arrays.copyOfRange(rows, 0, 2),
          Arrays.copyOfRange(qs, 0, 2), Arrays.copyOfRange(qe, 0, 2), mode));
      caches.addAll(fill(model, m, Arrays.copyOfRange(rows, 2, n), Arrays.copyOfRange(qs, 2, n),
          Arrays.copyOfRange(qe, 2, n), mode));
      long[][][] drafts = new long[n][][];
      for (int i = 0; i < n; i++) {
        drafts[i] = new long[1 + r.nextInt(4)][];
        for (int d = 0; d < drafts[i].length; d++) {
          drafts[i][d] = tokens(r, caches.get(i).queryLength()); // each draft other tokens
        }
      }
      float[][][] batched = cached(model, m, caches, drafts);
      // the rows of the second fill, all of them in its order: the call reads the fill's own tensors
      assertThat(BlockCache.oneFill(caches.subList(2, n))).isTrue();
      assertThat(BlockCache.oneFill(caches)).isFalse();
      assertThat(BlockCache.oneFill(List.of(caches.get(3), caches.get(2), caches.get(4)))).isFalse();
      List<BlockCache> lone = fill(model, m, new long[][] {rows[0]}, new int[] {qs[0]}, new int[] {qe[0]}, mode);
      assertThat(BlockCache.oneFill(lone)).as("one row: its cache as it lies").isFalse();
      lone.forEach(BlockCache::close);
      float[][][] oneFill = cached(model, m, caches.subList(2, n), Arrays.copyOfRange(drafts, 2, n));
      // rows frozen at one length that are not one fill's in its order: one concatenation, or (buffer)
      // each row copied into place
      int[] shuffled = {3, 2, 4};
      float[][][] sameLength = cached(model, m, Arrays.stream(shuffled).mapToObj(caches::get).toList(),
          Arrays.stream(shuffled).mapToObj(i -> drafts[i]).toArray(long[][][]::new));
      for (int i = 0; i < n; i++) {
        float[][] alone = cached(model, m, List.of(caches.get(i)), new long[][][] {drafts[i]})[0];
        for (int d = 0; d < drafts[i].length; d++) {
          assertThat(Fixtures.maxAbsDiff(batched[i][d], alone[d])).as("row %d draft %d", i, d).isLessThan(1e-5f);
          if (i >= 2) {
            assertThat(Fixtures.maxAbsDiff(oneFill[i - 2][d], alone[d])).as("row %d draft %d", i, d).isLessThan(1e-5f);
            int at = Arrays.stream(shuffled).boxed().toList().indexOf(i);
            assertThat(Fixtures.maxAbsDiff(sameLength[at][d], alone[d])).as("row %d draft %d, shuffled", i, d)
                .isLessThan(1e-5f);
          }
        }
        // each draft attends to its own window: a lone draft gives what it gives among its siblings
        float[] single = cached(model, m, List.of(caches.get(i)), new long[][][] {{drafts[i][0]}})[0][0];
        assertThat(Fixtures.maxAbsDiff(alone[0], single)).isLessThan(1e-5f);
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
    try (DiffusionLM model = tiny(family, 5); NDManager m = model.newScope()) {
      int len = 16;
      int qs = 8;
      int qe = 12;
      Random r = new Random(2);
      long[] s0 = new long[len];
      for (int j = 0; j < len; j++) {
        s0[j] = j < qs ? 4 + r.nextInt(60) : TinyModels.MASK;
      }
      long[] s1 = s0.clone();
      s1[qs + 1] = 17;
      List<BlockCache> caches = fill(model, m, new long[][] {s0}, new int[] {qs}, new int[] {qe}, mode);
      int q = caches.get(0).queryLength();
      int v = model.spec().vocabSize();
      float[] before = Arrays.copyOfRange(model.logits(m.create(s0, new Shape(1, len)), null, null).toFloatArray(),
          qs * v, (qs + q) * v);
      float[] fresh = Arrays.copyOfRange(model.logits(m.create(s1, new Shape(1, len)), null, null).toFloatArray(),
          qs * v, (qs + q) * v);
      float[] approx = cached(model, m, caches, new long[][][] {{Arrays.copyOfRange(s1, qs, qs + q)}})[0][0];
      float stale = Fixtures.maxAbsDiff(before, fresh);
      assertThat(stale).isGreaterThan(1e-3f);
      assertThat(Fixtures.maxAbsDiff(approx, fresh)).isLessThan(stale);
      caches.forEach(BlockCache::close);
    }
  }
}
