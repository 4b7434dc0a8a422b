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
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every cache a forward makes is closed by the time the decode ends: taken by its row and released
 * when the row's block or the row ends, or, for a fill draft the chain did not reach, closed unused.
 * A cache left open holds its keys and values on the device for the rest of the partition; so does
 * a fill's tensor of all its rows ({@code FillBatch}) while any of those rows' caches is open.
 */
class CacheLifetimeTest {
  @TempDir Path tmp;

  @ParameterizedTest
  @EnumSource(value = CacheMode.class, names = {"PREFIX", "DUAL"})
  void everyCacheAForwardMakesIsClosed(CacheMode cache) throws Exception {
    try (DiffusionLM tiny = TinyModels.load(TinyModels.write(tmp.resolve("m"), TinyModels.Spec.llada(5)));
        CountingModel model = new CountingModel(tiny)) {
      Random r = new Random(17);
      List<DecodeRequest> requests = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        DecodeConfig cfg = new DecodeConfig(DecodeConfig.Method.FREEDAVE, 12, 4, 12, 1 + r.nextInt(6), 0.5, 0, false,
            cache);
        requests.add(new DecodeRequest("r" + i, LosslessPropertyTest.prompt(r, 2 + r.nextInt(6)), cfg, i));
      }
      // the budget off: every round that reaches its block's end sends a fill draft, most never reached
      List<DecodeResult> results = new DecodeScheduler(model, 3, 64).decodeAll(requests);
      assertThat(results).allSatisfy(d -> assertThat(d.error()).isNull());
      assertThat(model.made).hasSizeGreaterThan(requests.size() * 3); // a fill a block, and fill drafts besides
      assertThat(model.made).noneMatch(c -> c.manager().isOpen());
      // the fills' tensors of all their rows, which the rows' caches view, close with the last of them
      assertThat(model.made).filteredOn(c -> c.batch() != null).isNotEmpty().noneMatch(c -> c.batch().isOpen());
    }
  }

  /** A model that passes every call through and keeps every cache it hands out. */
  private static final class CountingModel extends ForwardingModel {
    final List<BlockCache> made = new ArrayList<>();

    CountingModel(DiffusionLM inner) {
      super(inner);
    }

    @Override
    public NDArray logitsFillingCache(NDArray ids, NDArray keyMask, NDArray outputIndex, int[] lengths,
        int[] queryStart, int[] queryEnd, CacheMode mode, int block, List<BlockCache> out) {
      int before = out.size();
      NDArray logits = super.logitsFillingCache(ids, keyMask, outputIndex, lengths, queryStart, queryEnd, mode, block,
          out);
      made.addAll(out.subList(before, out.size()));
      return logits;
    }

    @Override
    public NDArray logitsWithCache(List<BlockCache> caches, NDArray ids, NDArray positions, NDArray drafts,
        NDArray outputIndex, int block, int[] commitTo, CacheFill[] fills, BlockCache[] grown) {
      NDArray logits = super.logitsWithCache(caches, ids, positions, drafts, outputIndex, block, commitTo, fills,
          grown);
      for (BlockCache c : grown) {
        if (c != null) {
          made.add(c);
        }
      }
      return logits;
    }
  }
}
