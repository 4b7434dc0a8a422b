package dev.freedave.decode;

import static org.assertj.core.api.Assertions.assertThat;

import dev.freedave.model.CacheMode;
import dev.freedave.model.LlamaFamilyModel;
import dev.freedave.testkit.TinyModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Copies of the transformer core (each with libtorch executors of its own, so that FreeDave's many
 * forward shapes each get a specialisation on a GPU; opt-in): the forwards' shapes are spread over at most
 * as many copies as asked for, each copy's method taking two shapes before the next copy loads, and
 * decoding through copies gives token for token what one core gives.
 */
class CoreCopiesTest {
  private static final String LANES = "freedave.core-lanes";
  @TempDir Path tmp;

  @AfterEach
  void clear() {
    System.clearProperty(LANES);
  }

  private static List<DecodeRequest> rows(CacheMode cache) {
    Random r = new Random(11);
    List<DecodeRequest> out = new ArrayList<>();
    DecodeConfig cfg = new DecodeConfig(DecodeConfig.Method.FREEDAVE, 12, 4, 12, 4, 0.5, 0, false, cache);
    for (int i = 0; i < 5; i++) {
      out.add(new DecodeRequest("r" + i, LosslessPropertyTest.prompt(r, 2 + 3 * i), cfg, i)); // ragged rows
    }
    return out;
  }

  @Test
  void copiesDecodeAsOneCoreDoes() throws Exception {
    Path dir = TinyModels.write(tmp.resolve("m"), TinyModels.Spec.llada(6));
    for (CacheMode cache : CacheMode.values()) {
      List<DecodeResult> one;
      try (LlamaFamilyModel model = (LlamaFamilyModel) TinyModels.load(dir)) {
        one = new DecodeScheduler(model, 3, 64).decodeAll(rows(cache));
        assertThat(model.coreCopies()).as("the default").isEqualTo(1);
      }
      System.setProperty(LANES, "3");
      try (LlamaFamilyModel model = (LlamaFamilyModel) TinyModels.load(dir)) {
        System.clearProperty(LANES);
        List<DecodeResult> copies = new DecodeScheduler(model, 3, 64).decodeAll(rows(cache));
        for (int i = 0; i < one.size(); i++) {
          assertThat(copies.get(i).error()).isNull();
          assertThat(copies.get(i).tokens()).as("%s row %d", cache, i).containsExactly(one.get(i).tokens());
        }
        // ragged rows and changing draft counts meet more than 2 x 3 shapes of the forward methods
        assertThat(model.coreCopies()).as("%s", cache).isEqualTo(3);
      }
    }
  }

  @Test
  void oneCopyAskedForIsOneCore() throws Exception {
    Path dir = TinyModels.write(tmp.resolve("m"), TinyModels.Spec.llada(6));
    System.setProperty(LANES, "1");
    try (LlamaFamilyModel model = (LlamaFamilyModel) TinyModels.load(dir)) {
      new DecodeScheduler(model, 3, 64).decodeAll(rows(CacheMode.DUAL));
      assertThat(model.coreCopies()).isEqualTo(1);
    }
  }
}
