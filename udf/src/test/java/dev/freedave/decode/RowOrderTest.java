package dev.freedave.decode;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import dev.freedave.model.BlockCache;
import dev.freedave.model.CacheFill;
import dev.freedave.model.CacheMode;
import dev.freedave.model.DiffusionLM;
import dev.freedave.testkit.ForwardingModel;
import dev.freedave.testkit.TinyModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scheduler's row order: while every row fits a forward it stays put, so rows that filled their
 * caches in one call read them in that call's order, as its tensors (no concatenation a step); where
 * rows are left out, the start moves on, and every row still decodes to the same tokens.
 */
class RowOrderTest {
  @TempDir Path tmp;

  private static List<DecodeRequest> lockstep(int rows) {
    Random r = new Random(3);
    List<DecodeRequest> out = new ArrayList<>();
    DecodeConfig cfg = new DecodeConfig(DecodeConfig.Method.STATIC, 12, 4, 12, 1, 0.5, 0, false, CacheMode.DUAL);
    for (int i = 0; i < rows; i++) {
      out.add(new DecodeRequest("r" + i, LosslessPropertyTest.prompt(r, 5), cfg, i)); // one length: one pace
    }
    return out;
  }

  @Test
  void rowsThatFilledTogetherReadTheirCachesInTheFillsOrder() throws Exception {
    try (DiffusionLM tiny = TinyModels.load(TinyModels.write(tmp.resolve("m"), TinyModels.Spec.llada(4)));
        OrderModel model = new OrderModel(tiny)) {
      List<DecodeResult> all = new DecodeScheduler(model, 3, 64).decodeAll(lockstep(3));
      assertThat(all).allSatisfy(d -> assertThat(d.error()).isNull());
      // 3 blocks of 4 steps: a fill and 3 cached steps each, all rows at once
      assertThat(model.cachedCalls).isEqualTo(9);
      assertThat(model.oneFillCalls).isEqualTo(model.cachedCalls);

      // room for two rows' sequences a forward: the third waits its turn, and nothing is lost
      model.cachedCalls = 0;
      model.oneFillCalls = 0;
      List<DecodeResult> tight = new DecodeScheduler(model, 3, 2).decodeAll(lockstep(3));
      for (int i = 0; i < all.size(); i++) {
        assertThat(tight.get(i).error()).isNull();
        assertThat(tight.get(i).tokens()).isEqualTo(all.get(i).tokens());
      }
      assertThat(model.oneFillCalls).isLessThan(model.cachedCalls);
    }
  }

  /** Counts the cached calls, and those whose rows are one fill's in its order. */
  private static final class OrderModel extends ForwardingModel {
    int cachedCalls;
    int oneFillCalls;

    OrderModel(DiffusionLM inner) {
      super(inner);
    }

    @Override
    public NDArray logitsWithCache(List<BlockCache> caches, NDArray ids, NDArray positions, NDArray drafts,
        NDArray outputIndex, int block, int[] commitTo, CacheFill[] fills, BlockCache[] grown) {
      cachedCalls++;
      oneFillCalls += BlockCache.oneFill(caches) ? 1 : 0;
      return super.logitsWithCache(caches, ids, positions, drafts, outputIndex, block, commitTo, fills, grown);
    }
  }
}
