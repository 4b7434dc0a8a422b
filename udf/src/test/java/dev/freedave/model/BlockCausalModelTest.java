package dev.freedave.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.freedave.testkit.Fixtures;
import dev.freedave.testkit.TinyModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An SDAR-format folder: read with its tokenizer's special ids, attending block-causally, and its
 * exact cache (the prefix frozen once, each finished block appended by the next block's first
 * forward) giving the logits of the cache-free block-causal forward.
 */
class BlockCausalModelTest {
  @TempDir Path tmp;
  static final int B = 4;

  private LlamaFamilyModel model(TinyModels.Spec spec) throws Exception {
    return (LlamaFamilyModel) TinyModels.load(TinyModels.write(tmp.resolve("m" + spec.seed() + spec.tied()), spec));
  }

  /** Block-causal logits of every position of one row. */
  private static float[] full(DiffusionLM model, long[] ids) {
    try (NDManager m = model.newScope()) {
      return model.logitsBlockCausal(m.create(ids, new Shape(1, ids.length)), null, null, B).toFloatArray();
    }
  }

  @Test
  void theFolderNamesItsSpecialTokensInItsTokenizerFiles() throws Exception {
    Path dir = TinyModels.write(tmp.resolve("sdar"), TinyModels.Spec.sdar(1));
    ModelFolder folder = ModelFolder.open(dir);
    assertThat(folder.spec().maskTokenId()).isEqualTo(TinyModels.MASK);
    assertThat(folder.spec().blockCausal()).isTrue();
    assertThat(folder.spec().endTokenIds()).contains(TinyModels.EOS);
    folder.validate();
  }

  @Test
  void aPositionSeesItsOwnBlockAndTheBlocksBefore() throws Exception {
    for (TinyModels.Spec spec : List.of(TinyModels.Spec.sdar(2), TinyModels.Spec.sdar(3).withTiedHead())) {
      try (LlamaFamilyModel model = model(spec)) {
        long[] ids = {5, 9, 12, 17, 20, 23, 30, 33, 40, 41, 42, 43};
        long[] changed = ids.clone();
        changed[9] = 50; // block 2 (positions 8..11)
        float[] a = full(model, ids);
        float[] b = full(model, changed);
        int v = model.spec().vocabSize();
        assertThat(Fixtures.maxAbsDiff(Arrays.copyOf(a, 8 * v), Arrays.copyOf(b, 8 * v))).isZero();
        assertThat(Fixtures.maxAbsDiff(Arrays.copyOfRange(a, 8 * v, 9 * v), Arrays.copyOfRange(b, 8 * v, 9 * v)))
            .as("position 8 sees position 9 of its own block").isGreaterThan(1e-4f);
        // and the same ids bidirectionally differ: the block-causal mask is what the forward used
        try (NDManager m = model.newScope()) {
          float[] bi = model.logits(m.create(ids, new Shape(1, 12)), null, null).toFloatArray();
          assertThat(Fixtures.maxAbsDiff(Arrays.copyOf(a, 4 * v), Arrays.copyOf(bi, 4 * v))).isGreaterThan(1e-4f);
        }
      }
    }
  }

  @Test
  void theQkNormsAreApplied() throws Exception {
    Path dir = TinyModels.write(tmp.resolve("qk"), TinyModels.Spec.sdar(4));
    long[] ids = {5, 9, 12, 17, 20, 23, 30, 33};
    float[] before;
    try (DiffusionLM m = TinyModels.load(dir)) {
      before = full(m, ids);
    }
    TinyModels.editTensor(dir, "model.layers.0.self_attn.k_norm.weight", w -> Arrays.fill(w, 3f));
    try (DiffusionLM m = TinyModels.load(dir)) {
      assertThat(Fixtures.maxAbsDiff(full(m, ids), before)).isGreaterThan(1e-3f);
    }
  }

  /**
   * Two ragged rows decoded block by block through the exact cache: a fill freezes each prefix, the
   * first cached forward of the next block appends the finished one, later ones only read; every
   * block's logits equal the block-causal forward over the row so far.
   */
  @Test
  void theExactCacheGivesTheCacheFreeLogits() throws Exception {
    try (LlamaFamilyModel model = model(TinyModels.Spec.sdar(5))) {
      int v = model.spec().vocabSize();
      // row 0: prompt 6 (blocks [0,4) [4,8) [8,12)); row 1: prompt 9 (blocks [8,12) [12,16))
      long[][] rows = {{5, 9, 12, 17, 20, 23, 2, 2, 2, 2, 2, 2}, {6, 10, 13, 18, 21, 24, 31, 34, 38, 2, 2, 2, 2, 2, 2, 2}};
      int[] blockStart = {4, 8};
      List<BlockCache> caches = new ArrayList<>();
      try (NDManager m = model.newScope()) {
        // the fill: each row up to its block's end; frozen = the blocks before
        int len = 12;
        long[] ids = new long[2 * len];
        long[] keep = new long[2 * len];
        for (int r = 0; r < 2; r++) {
          for (int j = 0; j < blockStart[r] + B; j++) {
            ids[r * len + j] = rows[r][j];
            keep[r * len + j] = 1;
          }
        }
        long[] index = {4, 5, 6, 7, 8, 9, 10, 11};
        float[] got = model.logitsFillingCache(m.create(ids, new Shape(2, len)), m.create(keep, new Shape(2, len)),
            m.create(index, new Shape(2, 4)), new int[] {8, 12}, blockStart, new int[] {8, 12}, CacheMode.PREFIX, B,
            caches).toFloatArray();
        for (int r = 0; r < 2; r++) {
          float[] ref = full(model, Arrays.copyOf(rows[r], blockStart[r] + B));
          assertThat(Fixtures.maxAbsDiff(Arrays.copyOfRange(got, r * 4 * v, (r + 1) * 4 * v),
              Arrays.copyOfRange(ref, blockStart[r] * v, (blockStart[r] + B) * v))).isLessThan(1e-4f);
          assertThat(caches.get(r).visibleEnd()).isEqualTo(blockStart[r]);
        }
      }
      // the blocks are finished; the next forward queries [blockStart, blockStart + 2B): commit + the new block
      rows[0][6] = 40; // row 0's block [4, 8): two prompt tokens, two decoded
      rows[0][7] = 41;
      rows[1][9] = 52; // row 1's block [8, 12): one prompt token, three decoded
      rows[1][10] = 53;
      rows[1][11] = 54;
      BlockCache[] grown = new BlockCache[2];
      try (NDManager m = model.newScope()) {
        int t = 2 * B;
        long[] ids = new long[2 * t];
        long[] pos = new long[2 * t];
        long[] drafts = new long[2 * t];
        long[] index = new long[2 * B];
        for (int r = 0; r < 2; r++) {
          for (int j = 0; j < t; j++) {
            ids[r * t + j] = rows[r][blockStart[r] + j];
            pos[r * t + j] = blockStart[r] + j;
          }
          for (int j = 0; j < B; j++) {
            index[r * B + j] = B + j;
          }
        }
        float[] got = model.logitsWithCache(caches, m.create(ids, new Shape(2, t)), m.create(pos, new Shape(2, t)),
            m.create(drafts, new Shape(2, t)), m.create(index, new Shape(2, B)), B,
            new int[] {blockStart[0] + B, blockStart[1] + B}, null, grown).toFloatArray();
        for (int r = 0; r < 2; r++) {
          float[] ref = full(model, Arrays.copyOf(rows[r], blockStart[r] + 2 * B));
          assertThat(Fixtures.maxAbsDiff(Arrays.copyOfRange(got, r * B * v, (r + 1) * B * v),
              Arrays.copyOfRange(ref, (blockStart[r] + B) * v, (blockStart[r] + 2 * B) * v))).isLessThan(1e-4f);
          assertThat(grown[r].visibleEnd()).isEqualTo(blockStart[r] + B);
          assertThat(grown[r].keys().getShape().get(3)).isEqualTo(blockStart[r] + B);
        }
      }
      caches.forEach(BlockCache::close);
      // a read-only forward against the grown caches, the new block partly decoded
      rows[0][9] = 45;
      rows[1][13] = 46;
      try (NDManager m = model.newScope()) {
        long[] ids = new long[2 * B];
        long[] pos = new long[2 * B];
        long[] index = new long[2 * B];
        for (int r = 0; r < 2; r++) {
          for (int j = 0; j < B; j++) {
            ids[r * B + j] = rows[r][blockStart[r] + B + j];
            pos[r * B + j] = blockStart[r] + B + j;
            index[r * B + j] = j;
          }
        }
        float[] got = model.logitsWithCache(List.of(grown), m.create(ids, new Shape(2, B)),
            m.create(pos, new Shape(2, B)), m.create(new long[2 * B], new Shape(2, B)), m.create(index, new Shape(2, B)),
            B, null, null, new BlockCache[2]).toFloatArray();
        for (int r = 0; r < 2; r++) {
          float[] ref = full(model, Arrays.copyOf(rows[r], blockStart[r] + 2 * B));
          assertThat(Fixtures.maxAbsDiff(Arrays.copyOfRange(got, r * B * v, (r + 1) * B * v),
              Arrays.copyOfRange(ref, (blockStart[r] + B) * v, (blockStart[r] + 2 * B) * v))).isLessThan(1e-4f);
        }
      }
      for (BlockCache c : grown) {
        c.close();
      }
    }
  }
}
