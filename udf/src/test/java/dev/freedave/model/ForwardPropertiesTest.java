package dev.freedave.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.freedave.testkit.Fixtures;
import dev.freedave.testkit.ForwardingModel;
import dev.freedave.testkit.TinyModels;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Bidirectionality, padding invariance and batch invariance of the forward pass, for both families. */
class ForwardPropertiesTest {
  @TempDir Path tmp;

  private LlamaFamilyModel tiny(ModelFamily family) throws Exception {
    TinyModels.Spec spec = family == ModelFamily.LLADA ? TinyModels.Spec.llada(7) : TinyModels.Spec.qwen2(7);
    return (LlamaFamilyModel) TinyModels.load(TinyModels.write(tmp.resolve(family.name()), spec));
  }

  private static long[] randomIds(Random r, int n, int vocab) {
    long[] ids = new long[n];
    for (int i = 0; i < n; i++) {
      ids[i] = r.nextInt(vocab);
    }
    return ids;
  }

  /** Logits [L, V] of one row run alone. */
  private static float[] alone(DiffusionLM model, long[] ids) {
    try (NDManager m = model.newScope()) {
      return model.logits(m.create(ids, new Shape(1, ids.length)), null, null).toFloatArray();
    }
  }

  /**
   * The core's one-call greedy reduction gives what the interface's DJL default gives, to the bit
   * (the decoders' lossless checks compare tokens and confidences exactly), and never picks the
   * excluded id even where it holds the largest logit.
   */
  @org.junit.jupiter.api.Test
  void greedyInOneCallEqualsTheDefault() throws Exception {
    try (LlamaFamilyModel model = tiny(ModelFamily.LLADA); NDManager m = model.newScope()) {
      DiffusionLM byDefault = new ForwardingModel(model); // the interface's greedy, not the core's
      long[] ids = randomIds(new Random(5), 3 * 9, 64);
      NDArray logits = model.logits(m.create(ids, new Shape(3, 9)), null, null); // [3, 9, V]
      int excluded = (int) logits.argMax(-1).toLongArray()[4]; // the top id at one position
      DiffusionLM.Picks core = model.greedy(logits, excluded);
      DiffusionLM.Picks djl = byDefault.greedy(logits, excluded);
      assertThat(core.tokens()).hasSize(27).isEqualTo(djl.tokens()).doesNotContain(excluded);
      assertThat(core.expSums()).isEqualTo(djl.expSums());
    }
  }

  @ParameterizedTest
  @EnumSource(ModelFamily.class)
  void firstPositionSeesTheLastToken(ModelFamily family) throws Exception {
    try (LlamaFamilyModel model = tiny(family)) {
      long[] ids = randomIds(new Random(1), 10, 64);
      long[] changed = ids.clone();
      changed[9] = (changed[9] + 1) % 64;
      float[] a = Arrays.copyOfRange(alone(model, ids), 0, 64);
      float[] b = Arrays.copyOfRange(alone(model, changed), 0, 64);
      assertThat(Fixtures.maxAbsDiff(a, b)).isGreaterThan(1e-4f);
    }
  }

  @ParameterizedTest
  @EnumSource(ModelFamily.class)
  void rightPaddedRowsGiveTheUnpaddedLogitsAtRealPositions(ModelFamily family) throws Exception {
    try (LlamaFamilyModel model = tiny(family)) {
      Random r = new Random(2);
      long[] shortRow = randomIds(r, 7, 64);
      long[] longRow = randomIds(r, 12, 64);
      long[] batch = new long[2 * 12];
      long[] mask = new long[2 * 12];
      System.arraycopy(shortRow, 0, batch, 0, 7);
      Arrays.fill(batch, 7, 12, TinyModels.PAD);
      Arrays.fill(mask, 0, 7, 1);
      System.arraycopy(longRow, 0, batch, 12, 12);
      Arrays.fill(mask, 12, 24, 1);
      float[] batched;
      try (NDManager m = model.newScope()) {
        NDArray out = model.logits(m.create(batch, new Shape(2, 12)), m.create(mask, new Shape(2, 12)), null);
        batched = out.toFloatArray();
      }
      int v = 64;
      assertThat(Fixtures.maxAbsDiff(Arrays.copyOfRange(batched, 0, 7 * v), alone(model, shortRow)))
          .isLessThan(1e-5f);
      assertThat(Fixtures.maxAbsDiff(Arrays.copyOfRange(batched, 12 * v, 24 * v), alone(model, longRow)))
          .isLessThan(1e-5f);
    }
  }

  @ParameterizedTest
  @EnumSource(ModelFamily.class)
  void leftPaddingWithShiftedPositionsEqualsTheUnpaddedRow(ModelFamily family) throws Exception {
    try (LlamaFamilyModel model = tiny(family)) {
      long[] row = randomIds(new Random(3), 6, 64);
      long[] padded = new long[9];
      long[] mask = new long[9];
      long[] pos = new long[9];
      System.arraycopy(row, 0, padded, 3, 6);
      for (int i = 3; i < 9; i++) {
        mask[i] = 1;
        pos[i] = i - 3;
      }
      float[] out;
      try (NDManager m = model.newScope()) {
        out = model.logits(m.create(padded, new Shape(1, 9)), m.create(mask, new Shape(1, 9)),
            m.create(pos, new Shape(1, 9))).toFloatArray();
      }
      assertThat(Fixtures.maxAbsDiff(Arrays.copyOfRange(out, 3 * 64, 9 * 64), alone(model, row)))
          .isLessThan(1e-5f);
    }
  }

  @ParameterizedTest
  @EnumSource(ModelFamily.class)
  void aRowInsideABatchGivesItsLogitsAlone(ModelFamily family) throws Exception {
    try (LlamaFamilyModel model = tiny(family)) {
      Random r = new Random(4);
      int b = 5;
      int len = 11;
      long[] batch = randomIds(r, b * len, 64);
      float[] all;
      try (NDManager m = model.newScope()) {
        all = model.logits(m.create(batch, new Shape(b, len)), null, null).toFloatArray();
      }
      for (int row = 0; row < b; row++) {
        float[] one = alone(model, Arrays.copyOfRange(batch, row * len, (row + 1) * len));
        assertThat(Fixtures.maxAbsDiff(Arrays.copyOfRange(all, row * len * 64, (row + 1) * len * 64), one))
            .isLessThan(1e-5f);
      }
    }
  }
}
