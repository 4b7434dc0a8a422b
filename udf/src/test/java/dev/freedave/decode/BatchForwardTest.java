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
 * What a GPU model's steps get, forced here on the CPU. A forward padded up to its shape bucket
 * predicts, for every real sequence, what that sequence predicts alone in an unpadded forward: full
 * forwards of ragged rows, and cached forwards of rows with different draft counts. Fills joined to a
 * cached call predict and freeze what a fill call of their own does, and a step's estimated work is
 * what it runs. Both families.
 */
class BatchForwardTest {
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

  @ParameterizedTest
  @ValueSource(ints = {0, 1})
  void fillsJoinedToACachedCallPredictAndFreezeWhatAFillCallDoes(int family) throws Exception {
    try (DiffusionLM model = model(family); NDManager m = model.newScope()) {
      Random r = new Random(13 + family);
      List<BlockCache> caches = new ArrayList<>();
      List<BlockCache> made = new ArrayList<>();
      try {
        List<Sequence> batch = new ArrayList<>();
        for (int row = 0; row < 3; row++) { // rows inside a block: 1, 2, 3 drafts against their caches
          Sequence state = full(model, prompt(r, 3 + row), r);
          caches.add(fill(model, m, state));
          for (int d = 0; d <= row; d++) {
            batch.add(cached(state, caches.get(row), r, model.spec().maskTokenId()));
          }
        }
        int fillsFrom = batch.size();
        for (int row = 0; row < 2; row++) { // rows starting a block: their fills, of two lengths
          batch.add(full(model, prompt(r, 2 + 5 * row), r));
        }
        BatchForward.Output joined = BatchForward.run(model, batch, true, new DraftBudget.Costs());
        BatchForward.Output apart = BatchForward.run(model, batch, false, null);
        assertThat(joined.shape()).contains("fills").doesNotContain("full ");
        assertThat(apart.shape()).contains("full dual");
        // the work the scheduler prices a step with is what the cost table is given for it
        long positions = batch.stream().mapToLong(Sequence::positions).sum();
        assertThat(BatchForward.estimatedWork(batch, true, new DraftBudget.Costs()))
            .isEqualTo(new BatchForward.StepWork(positions * joined.slots() / batch.size(), 1));
        assertThat(BatchForward.estimatedWork(batch, false, null))
            .isEqualTo(new BatchForward.StepWork(positions * apart.slots() / batch.size(), 2));
        assertSamePredictions(joined.predictions(), apart.predictions());
        List<Sequence> next = new ArrayList<>();
        List<Sequence> nextApart = new ArrayList<>();
        for (int i = fillsFrom; i < batch.size(); i++) {
          BlockCache a = joined.filled()[i];
          BlockCache b = apart.filled()[i];
          made.add(a);
          made.add(b);
          assertThat(List.of(a.frozenLength(), a.visibleEnd(), a.hiddenStart(), a.hiddenEnd()))
              .isEqualTo(List.of(b.frozenLength(), b.visibleEnd(), b.hiddenStart(), b.hiddenEnd()));
          float[] ka = a.keys().toFloatArray();
          float[] kb = b.keys().toFloatArray();
          float[] va = a.values().toFloatArray();
          float[] vb = b.values().toFloatArray();
          long stride = a.keys().getShape().get(4); // [layers, 1, Hkv, L, hd]: position p of every head at p * hd
          for (int e = 0; e < ka.length; e++) {
            int p = (int) ((e / stride) % a.frozenLength());
            if (a.visible(p)) {
              assertThat(ka[e]).as("key %d at position %d", e, p).isCloseTo(kb[e], within(1e-5f));
              assertThat(va[e]).as("value %d at position %d", e, p).isCloseTo(vb[e], within(1e-5f));
            }
          }
          // and the caches read the same: a draft of the block against each
          Sequence draft = cached(batch.get(i), a, r, model.spec().maskTokenId());
          next.add(draft);
          nextApart.add(new Sequence(draft.tokens(), draft.length(), draft.promptLength(), draft.windowStart(),
              draft.windowLength(), draft.seed(), draft.decodedCount(), draft.temperature(), b, draft.mode(),
              b.queryStart(), b.queryEnd(), 0, b.queryStart()));
        }
        assertSamePredictions(BatchForward.run(model, next, false, null).predictions(),
            BatchForward.run(model, nextApart, false, null).predictions());
      } finally {
        caches.forEach(BlockCache::close);
        made.forEach(BlockCache::close);
      }
    }
  }

  private static void assertSamePredictions(List<Prediction> got, List<Prediction> want) {
    assertThat(got).hasSameSizeAs(want);
    for (int i = 0; i < got.size(); i++) {
      assertThat(got.get(i).x0()).as("sequence %d", i).containsExactly(want.get(i).x0());
      for (int j = 0; j < want.get(i).conf().length; j++) {
        assertThat(got.get(i).conf()[j]).as("sequence %d position %d", i, j).isCloseTo(want.get(i).conf()[j],
            within(1e-5f));
      }
    }
  }

  private DiffusionLM model(int family) throws Exception {
    TinyModels.Spec spec = family == 0 ? TinyModels.Spec.llada(3) : TinyModels.Spec.qwen2(3);
    return TinyModels.load(TinyModels.write(tmp.resolve("m" + family), spec));
  }

  /** Each sequence's prediction in the batch equals its prediction in a forward of its own. */
  private static void assertSameAsAlone(DiffusionLM model, List<Sequence> batch) {
    BatchForward.Output together = BatchForward.run(model, batch, true, null);
    closeAll(together.filled());
    List<Prediction> alone = new ArrayList<>();
    for (Sequence s : batch) {
      BatchForward.Output one = BatchForward.run(model, List.of(s), false, null);
      closeAll(one.filled());
      alone.add(one.predictions().get(0));
    }
    assertSamePredictions(together.predictions(), alone);
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
