package dev.freedave.batch;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import dev.freedave.decode.DecodeConfig;
import dev.freedave.model.CacheMode;
import dev.freedave.model.DefaultModel;
import dev.freedave.text.PromptFile;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The committed demo model loads from the classpath and solves a held-out problem, statically and with FreeDave. */
class DefaultModelTest {
  @TempDir Path tmp;

  @Test
  void embeddedModelSolvesABundledProblem() throws Exception {
    Path dir = DefaultModel.resolve(tmp);
    assertThat(dir.resolve("TRAINING.json")).exists();
    ExecutorModels.Loaded loaded = ExecutorModels.get(dir.toString(), "float32", Device.cpu());
    PromptFile.Prompt p = PromptFile.samples().get(0);
    GenerateSettings settings = new GenerateSettings(dir.toString(), "float32", "cpu", "demo", ChatTemplate.NONE, true, 4, 64);
    List<InputRow> rows = List.of(new InputRow(p.id(), p.text(), p.answer(), null));
    for (DecodeConfig cfg : List.of(DecodeConfig.of(DecodeConfig.Method.STATIC, 64, 16, 1, 0.9),
        DecodeConfig.of(DecodeConfig.Method.FREEDAVE, 64, 16, 8, 0.9),
        DecodeConfig.of(DecodeConfig.Method.FREEDAVE, 64, 16, 8, 0.9).withCache(CacheMode.DUAL))) {
      OutputRow r = new PartitionGenerator(settings, loaded).run(rows, cfg, PartitionGenerator.Progress.NONE).get(0);
      assertThat(r.error()).isNull();
      assertThat(r.completion()).as(cfg.label()).contains("####");
      assertThat(r.correct()).as(cfg.label() + ": " + r.completion()).isTrue();
      assertThat(r.matchStatic()).isTrue();
      assertThat(r.finishReason()).isEqualTo("eos");
    }
  }

  @Test
  void theEmbeddedTokenizerIsTheOneTheDemoDataIsMadeWith() throws Exception {
    Path dir = DefaultModel.resolve(tmp);
    assertThat(com.google.gson.JsonParser.parseString(java.nio.file.Files.readString(dir.resolve("tokenizer.json"))))
        .isEqualTo(com.google.gson.JsonParser.parseString(dev.freedave.train.DemoTokenizer.json()));
  }

  @Test
  void answersAreReadFromDigitByDigitText() {
    assertThat(AnswerCheck.correct("1 3 * 2 = 2 6 . #### 2 6", "26")).isTrue();
    assertThat(AnswerCheck.correct("#### 1 0 4", "104")).isTrue();
    assertThat(AnswerCheck.correct("#### 1 0", "104")).isFalse();
    assertThat(AnswerCheck.correct("so it is 7", "7.0")).isTrue();
  }
}
