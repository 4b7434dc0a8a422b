package dev.freedave.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.freedave.model.BlockCache;
import dev.freedave.model.CacheMode;
import dev.freedave.model.DiffusionLM;
import dev.freedave.testkit.TinyModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A forward padded up to its shape bucket (what a GPU model gets; forced here on the CPU) predicts,
 * for every real sequence, what that sequence predicts alone in an unpadded forward: full forwards
 * of ragged rows, and cached forwards of rows with different draft counts, both families.
 */
class ShapeBucketTest {
  @TempDir Path tmp;

  private static final int GEN = 8;
  private static final int BLOCK = 4;

  @Test
  void bucketsAreFewAndWasteLessThanHalf() {
    TreeSet<Integer> seen = new TreeSet<>();
    for (int n = 1; n <= 1024; n++) {
      int b = BatchForward.bucket(n);
      assertThat(b).isGreaterThanOrEqualTo(n).isLessThan(Math.max(n + 1, (int) Math.ceil(1.5 * n)));
      assertThat(BatchForward.bucket(b)).isEqualTo(b);
      seen.add(b);
    }
    assertThat(seen).hasSize(20); // 1, 2, then 3 and 4, 6 and 8, ... 768 and 1024
    assertThat(BatchForward.bucket(5)).isEqualTo(6);
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1})
  void paddedFullForwardsPredictWhatEachSequenceAlonePredicts(int family) throws Exception {
    try (DiffusionLM model = model(family)) {
      Random r = new Random(7 + family);
      List<Sequence> batch = new ArrayList<>();
      for (int i = 0; i < 5; i++) { // bucket 6: one copy
        batch.add(full(model, prompt(r, 3 + i), r));
      }
      assertThat(BatchForward.bucket(batch.size())).isGreaterThan(batch.size());
      assertSameAsAlone(model, batch);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1})
  void paddedCachedForwardsPredictWhatEachDraftAlonePredicts(int family) throws Exception {
    try (DiffusionLM model = model(family); NDManager m = model.newScope()) {
      Random r = new Random(11 + family);
      int[] drafts = {1, 5, 2, 3, 5}; // rows 5 -> 6, drafts 5 -> 6: copies on both axes
      List<BlockCache> caches = new ArrayList<>();
      List<Sequence> batch = new ArrayList<>();
      try {
        for (int row = 0; row < drafts.length; row++) {
          Sequence fill = full(model, prompt(r, 2 + 2 * row), r);
          caches.add(fill(model, m, fill));
          for (int d = 0; d < drafts[row]; d++) {
            batch.add(cached(fill, caches.get(row), r, model.spec().maskTokenId()));
          }
        }
        assertSameAsAlone(model, batch);
      } finally {
        caches.forEach(BlockCache::close);
      }
    }
  }

  private DiffusionLM model(int family) throws Exception {
    TinyModels.Spec spec = family == 0 ? TinyModels.Spec.llada(3) : TinyModels.Spec.qwen2(3);
    return TinyModels.load(TinyModels.write(tmp.resolve("m" + family), spec));
  }

  /** Each sequence's prediction in the batch equals its prediction in a forward of its own. */
  private static void assertSameAsAlone(DiffusionLM model, List<Sequence> batch) {
    List<Prediction> together = BatchForward.run(model, batch, true).predictions();
    for (int i = 0; i < batch.size(); i++) {
      BatchForward.Output alone = BatchForward.run(model, List.of(batch.get(i)), false);
      closeAll(alone.filled());
      Prediction a = alone.predictions().get(0);
      Prediction b = together.get(i);
      assertThat(b.x0()).as("sequence %d", i).containsExactly(a.x0());
      for (int j = 0; j < a.conf().length; j++) {
        assertThat(b.conf()[j]).as("sequence %d position %d", i, j).isCloseTo(a.conf()[j], within(1e-5f));
      }
    }
  }

  private static void closeAll(BlockCache[] caches) {
    for (BlockCache c : caches) {
      if (c != null) {
        c.close();
      }
    }
  }

  private static int[] prompt(Random r, int len) {
    int[] p = new int[len];
    for (int i = 0; i < len; i++) {
      p[i] = 4 + r.nextInt(60);
    }
    return p;
  }

  /** The prompt, then GEN positions: the first block half decoded (random tokens), the rest masked. */
  private static Sequence full(DiffusionLM model, int[] prompt, Random r) {
    int mask = model.spec().maskTokenId();
    int[] tokens = new int[prompt.length + GEN];
    System.arraycopy(prompt, 0, tokens, 0, prompt.length);
    for (int j = 0; j < GEN; j++) {
      tokens[prompt.length + j] = j < BLOCK / 2 ? 4 + r.nextInt(60) : mask;
    }
    int windowAbs = prompt.length - model.spec().predictionOffset();
    return new Sequence(tokens, tokens.length, prompt.length, 0, BLOCK, 1, BLOCK / 2, 0, null, CacheMode.DUAL,
        windowAbs, prompt.length + BLOCK, 0, windowAbs);
  }

  /** The dual cache of {@code s}'s row, frozen by a forward of its own. */
  private static BlockCache fill(DiffusionLM model, NDManager m, Sequence s) {
    int len = s.tokens().length;
    long[] ids = new long[len];
    for (int j = 0; j < len; j++) {
      ids[j] = s.tokens()[j];
    }
    long[] index = new long[BLOCK];
    for (int j = 0; j < BLOCK; j++) {
      index[j] = s.queryStart() + j;
    }
    List<BlockCache> out = new ArrayList<>();
    model.logitsFillingCache(m.create(ids, new Shape(1, len)), null, m.create(index, new Shape(1, BLOCK)),
        new int[] {len}, new int[] {s.queryStart()}, new int[] {s.queryEnd()}, CacheMode.DUAL, 0, out).close();
    return out.get(0);
  }

  /** A draft of {@code s}'s window against its row's cache: a random subset of the masks filled. */
  private static Sequence cached(Sequence s, BlockCache cache, Random r, int mask) {
    int[] tokens = s.tokens().clone();
    for (int j = 0; j < BLOCK; j++) {
      int p = s.promptLength() + j;
      if (tokens[p] == mask && r.nextBoolean()) {
        tokens[p] = 4 + r.nextInt(60);
      }
    }
    return new Sequence(tokens, tokens.length, s.promptLength(), 0, BLOCK, 1, BLOCK / 2, 0, cache, CacheMode.DUAL,
        cache.queryStart(), cache.queryEnd(), 0, cache.queryStart());
  }
}
