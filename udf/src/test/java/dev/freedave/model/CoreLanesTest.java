package dev.freedave.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.freedave.decode.DecodeConfig;
import dev.freedave.decode.DecodeRequest;
import dev.freedave.decode.DecodeResult;
import dev.freedave.decode.DecodeScheduler;
import dev.freedave.testkit.TinyModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Core copies per decode configuration (on by default on a GPU, forced here on the CPU): every
 * configuration decodes the same tokens as on one core, a copy is made per configuration, and a
 * configuration met again reuses its copy.
 */
class CoreLanesTest {
  @TempDir Path tmp;

  private DiffusionLM load(ModelFamily family, boolean lanes) throws Exception {
    TinyModels.Spec spec = family == ModelFamily.LLADA ? TinyModels.Spec.llada(4) : TinyModels.Spec.qwen2(4);
    Path dir = TinyModels.write(tmp.resolve(lanes ? "lanes" : "one"), spec);
    System.setProperty(TransformerCore.LANES, String.valueOf(lanes));
    try {
      return TinyModels.load(dir);
    } finally {
      System.clearProperty(TransformerCore.LANES);
    }
  }

  @ParameterizedTest
  @EnumSource(value = ModelFamily.class, names = {"LLADA", "DREAM"})
  void everyConfigurationDecodesAsOnOneCore(ModelFamily family) throws Exception {
    Random r = new Random(3);
    List<int[]> prompts = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      int[] p = new int[3 + r.nextInt(7)];
      for (int j = 0; j < p.length; j++) {
        p[j] = 4 + r.nextInt(50);
      }
      prompts.add(p);
    }
    DecodeConfig base = new DecodeConfig(DecodeConfig.Method.STATIC, 16, 8, 16, 4, 0.9, 0, false);
    List<DecodeConfig> configs = new ArrayList<>();
    for (CacheMode cache : new CacheMode[] {CacheMode.NONE, CacheMode.DUAL}) {
      for (DecodeConfig.Method m : new DecodeConfig.Method[] {DecodeConfig.Method.STATIC, DecodeConfig.Method.FREEDAVE}) {
        configs.add(base.withMethod(m).withCache(cache));
      }
    }
    try (DiffusionLM lanes = load(family, true); DiffusionLM one = load(family, false)) {
      for (int pass = 0; pass < 2; pass++) {
        for (DecodeConfig c : configs) {
          List<DecodeRequest> requests = new ArrayList<>();
          for (int i = 0; i < prompts.size(); i++) {
            requests.add(new DecodeRequest("r" + i, prompts.get(i), c, i));
          }
          List<DecodeResult> got = new DecodeScheduler(lanes, 3, 64).decodeAll(requests);
          List<DecodeResult> want = new DecodeScheduler(one, 3, 64).decodeAll(requests);
          for (int i = 0; i < requests.size(); i++) {
            assertThat(got.get(i).error()).isNull();
            assertThat(got.get(i).tokens()).as("%s %s row %d", c.method(), c.cache(), i)
                .containsExactly(want.get(i).tokens());
          }
        }
        // one copy per configuration; none more in pass 2
        assertThat(((LlamaFamilyModel) lanes).laneCopies()).as("pass %d", pass).isEqualTo(configs.size());
      }
      assertThat(((LlamaFamilyModel) one).laneCopies()).isZero();
    }
  }
}
