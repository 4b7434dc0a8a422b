package dev.freedave.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import dev.freedave.decode.DecodeConfig;
import dev.freedave.decode.DecodeStats;
import dev.freedave.model.CacheMode;
import dev.freedave.model.ComputeDtype;
import dev.freedave.model.LoadedModel;
import dev.freedave.model.ModelFolder;
import dev.freedave.model.ModelLoadException;
import dev.freedave.testkit.TinyModels;
import dev.freedave.text.ChatTemplate;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Models and configs that used to decode into plausible-looking garbage, or to crash a task. */
class BrokenModelTest {
  @TempDir Path tmp;

  private static final String LM_HEAD = "model.transformer.ff_out.weight";

  /** A tiny model whose LM head's weights go through {@code f}. */
  private Path modelWith(String name, java.util.function.Consumer<float[]> f) throws IOException {
    Path dir = TinyModels.write(tmp.resolve(name), TinyModels.Spec.llada(4));
    TinyModels.editTensor(dir, LM_HEAD, f);
    return dir;
  }

  private static List<OutputRow> decode(Path dir, int maxSequencesPerForward, DecodeConfig... configs)
      throws IOException {
    try (LoadedModel loaded = ModelFolder.open(dir).load(ComputeDtype.FLOAT32, Device.cpu())) {
      GenerateSettings s = new GenerateSettings(dir.toString(), ComputeDtype.FLOAT32, "cpu", "t", "",
          ChatTemplate.NONE, false, 4, maxSequencesPerForward, "off");
      List<InputRow> rows = List.of(new InputRow("a", "what is 2 + 3 ?", null, null, null),
          new InputRow("b", "the sum", null, null, null));
      List<OutputRow> out = new ArrayList<>();
      for (DecodeConfig c : configs) {
        out.addAll(new PartitionGenerator(s, loaded).run(rows, c, PartitionGenerator.Progress.NONE));
      }
      return out;
    }
  }

  @Test
  void nanWeightsAreRefusedAtLoad() throws Exception {
    Path dir = modelWith("nan", v -> v[v.length / 2] = Float.NaN);
    assertThatThrownBy(() -> ModelFolder.open(dir).load(ComputeDtype.FLOAT32, Device.cpu()))
        .isInstanceOf(ModelLoadException.class).hasMessageContaining("holds a non-finite value (NaN or Inf)");
  }

  @Test
  void logitsThatOverflowMakeEveryRowAnErrorNotTokenZero() throws Exception {
    // finite weights, but large enough that the logits overflow float32 (as float16 activations can)
    Path dir = modelWith("huge", v -> {
      for (int i = 0; i < v.length; i++) {
        v[i] = Math.copySign(3e38f, v[i]);
      }
    });
    DecodeConfig freedave = DecodeConfig.of(DecodeConfig.Method.FREEDAVE, 8, 4, 4, 0.9);
    for (OutputRow r : decode(dir, 64, freedave, freedave.withMethod(DecodeConfig.Method.STATIC),
        freedave.withCache(CacheMode.DUAL))) {
      assertThat(r.decoded().error()).as(r.run().decoder()).contains("logits are not finite (NaN or Inf)");
      assertThat(r.decoded().finishReason()).isEqualTo("error");
      assertThat(r.decoded().stats()).isEqualTo(DecodeStats.NONE); // no speedup is claimed for it
    }
  }

  @Test
  void draftsThatDoNotFitInAForwardAreARowErrorNotASilentCap() throws Exception {
    Path dir = TinyModels.write(tmp.resolve("ok"), TinyModels.Spec.llada(4));
    List<OutputRow> out = decode(dir, 4, DecodeConfig.of(DecodeConfig.Method.FREEDAVE, 8, 8, 6, 0.9),
        DecodeConfig.of(DecodeConfig.Method.FREEDAVE, 8, 8, 4, 0.9));
    assertThat(out.get(0).decoded().error()).isEqualTo("draft_steps 6 exceeds the 4 sequences per forward; a row's "
        + "drafts are verified in one forward");
    assertThat(out.get(2).decoded().error()).isNull();
    assertThat(out.get(2).run().draftSteps()).isEqualTo(4);
  }

  @Test
  void aGenerationLengthNearTheIntegerLimitIsARowErrorNotACrash() throws Exception {
    Path dir = TinyModels.write(tmp.resolve("ok"), TinyModels.Spec.llada(4));
    for (int gen : new int[] {2147483640, Integer.MAX_VALUE}) {
      OutputRow r = decode(dir, 64, DecodeConfig.of(DecodeConfig.Method.STATIC, gen, gen, 1, 0.9)).get(0);
      assertThat(r.decoded().error()).contains("gen_length " + gen).contains("exceeds the model's context of 512");
    }
  }
}
