package dev.freedave.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.freedave.decode.DecodeConfig;
import dev.freedave.decode.DecodeRequest;
import dev.freedave.decode.DecodeResult;
import dev.freedave.decode.DecodeScheduler;
import dev.freedave.testkit.TinyModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Executors of their own for recurring shapes: which calls are granted one, the aliases' source, and
 * (grants forced on the CPU, where they are off by default) that decoding through them gives the
 * tokens decoding without them gives.
 */
class ShapeGrantsTest {
  @TempDir Path tmp;

  @Test
  void aMethodsFirstTwoShapesStayAndARecurringThirdIsGrantedAtItsSixteenthCall() {
    ShapeGrants g = new ShapeGrants(2);
    assertThat(g.route("full", "a")).isEqualTo(new ShapeGrants.Route("full", false));
    assertThat(g.route("full", "b").method()).isEqualTo("full");
    for (int i = 1; i < ShapeGrants.AFTER; i++) {
      assertThat(g.route("full", "c").method()).as("call %d of c", i).isEqualTo("full");
      assertThat(g.route("full", "a").method()).as("libtorch's own: never granted").isEqualTo("full");
    }
    assertThat(g.route("full", "c")).isEqualTo(new ShapeGrants.Route("full__grant1", true));
    assertThat(g.made()).isEqualTo(1);
    assertThat(g.route("full", "c")).isEqualTo(new ShapeGrants.Route("full__grant1", false));
    assertThat(g.route("cached", "c").method()).as("another method counts apart").isEqualTo("cached");
  }

  @Test
  void grantsStopAtTheirCountAndAfterTheWindow() {
    ShapeGrants full = new ShapeGrants(2);
    full.route("full", "a");
    full.route("full", "b");
    for (String shape : new String[] {"c", "d", "e", "f", "g"}) {
      for (int i = 0; i < ShapeGrants.AFTER; i++) {
        full.route("full", shape);
      }
    }
    assertThat(full.made()).as("two shapes on each of two aliases").isEqualTo(4);
    assertThat(full.route("full", "d").method()).isEqualTo("full__grant1");
    assertThat(full.route("full", "e").method()).isEqualTo("full__grant2");
    assertThat(full.route("full", "f").method()).isEqualTo("full__grant2");
    assertThat(full.route("full", "g").method()).as("all taken").isEqualTo("full");

    ShapeGrants late = new ShapeGrants(2);
    late.route("full", "a");
    late.route("full", "b");
    for (int i = 0; i < ShapeGrants.WINDOW; i++) {
      late.route("full", "once " + i); // a window's worth of shapes that never recur
    }
    for (int i = 0; i < 2 * ShapeGrants.AFTER; i++) {
      assertThat(late.route("full", "c").method()).as("past the window").isEqualTo("full");
    }
    assertThat(late.made()).isZero();

    ShapeGrants none = new ShapeGrants(0);
    for (int i = 0; i < 3 * ShapeGrants.AFTER; i++) {
      assertThat(none.route("full", "s" + i % 3).method()).isEqualTo("full");
    }
    assertThat(none.made()).isZero();
  }

  @Test
  void aliasesTakeTheMethodsParametersAndReturnWhatItReturns() {
    String source = """
        class M(Module):
          def f(self: __torch__.M, x: Tensor, ws: List[Tensor],
                kv: Optional[Tuple[Tensor, Tensor]], n: int) -> Tuple[Tensor, Tensor]:
            return x, x
        """;
    assertThat(ShapeGrants.aliases(source, List.of("f"), 2)).isEqualTo("""

          def f__grant1(self: __torch__.M, x: Tensor, ws: List[Tensor],
                kv: Optional[Tuple[Tensor, Tensor]], n: int) -> Tuple[Tensor, Tensor]:
            return self.f(x, ws, kv, n)

          def f__grant2(self: __torch__.M, x: Tensor, ws: List[Tensor],
                kv: Optional[Tuple[Tensor, Tensor]], n: int) -> Tuple[Tensor, Tensor]:
            return self.f(x, ws, kv, n)
        """);
    assertThatThrownBy(() -> ShapeGrants.aliases(source, List.of("g"), 1)).hasMessageContaining("no method g");
  }

  private DiffusionLM load(ModelFamily family, int grants) throws Exception {
    TinyModels.Spec spec = family == ModelFamily.LLADA ? TinyModels.Spec.llada(4) : TinyModels.Spec.qwen2(4);
    Path dir = TinyModels.write(tmp.resolve("grants-" + grants), spec);
    System.setProperty(TransformerCore.SHAPE_GRANTS, String.valueOf(grants));
    try {
      return TinyModels.load(dir);
    } finally {
      System.clearProperty(TransformerCore.SHAPE_GRANTS);
    }
  }

  @ParameterizedTest
  @EnumSource(value = ModelFamily.class, names = {"LLADA", "DREAM"})
  void decodingThroughGrantedExecutorsGivesTheSameTokens(ModelFamily family) throws Exception {
    Random r = new Random(3);
    List<int[]> prompts = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      int[] p = new int[3 + r.nextInt(7)];
      for (int j = 0; j < p.length; j++) {
        p[j] = 4 + r.nextInt(50);
      }
      prompts.add(p);
    }
    DecodeConfig base = new DecodeConfig(DecodeConfig.Method.STATIC, 16, 8, 16, 4, 0.9, 0, false);
    try (DiffusionLM granted = load(family, 2); DiffusionLM plain = load(family, 0)) {
      for (CacheMode cache : new CacheMode[] {CacheMode.NONE, CacheMode.DUAL}) {
        for (DecodeConfig.Method m : new DecodeConfig.Method[] {DecodeConfig.Method.STATIC, DecodeConfig.Method.FREEDAVE}) {
          DecodeConfig c = base.withMethod(m).withCache(cache);
          List<DecodeRequest> requests = new ArrayList<>();
          for (int i = 0; i < prompts.size(); i++) {
            requests.add(new DecodeRequest("r" + i, prompts.get(i), c, i));
          }
          for (int rows : new int[] {1, 3}) {
            List<DecodeResult> got = new DecodeScheduler(granted, rows, 64).decodeAll(requests);
            List<DecodeResult> want = new DecodeScheduler(plain, rows, 64).decodeAll(requests);
            for (int i = 0; i < requests.size(); i++) {
              assertThat(got.get(i).error()).isNull();
              assertThat(got.get(i).tokens()).as("%s %s %d rows, row %d", m, cache, rows, i)
                  .containsExactly(want.get(i).tokens());
            }
          }
        }
      }
      // full, fill, cached and cached_kv: four each at most, and some made (else the test shows nothing)
      assertThat(granted.compiles()).isBetween(2L, 16L);
      assertThat(plain.compiles()).isZero();
    }
  }
}
