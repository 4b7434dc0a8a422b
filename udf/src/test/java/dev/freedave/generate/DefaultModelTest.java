package dev.freedave.generate;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import dev.freedave.decode.DecodeConfig;
import dev.freedave.model.CacheMode;
import dev.freedave.model.ComputeDtype;
import dev.freedave.model.DefaultModel;
import dev.freedave.model.LoadedModel;
import dev.freedave.model.ModelFolder;
import dev.freedave.text.ChatTemplate;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The committed demo model loads from the classpath and solves a held-out problem, statically and with FreeDave. */
class DefaultModelTest {
  static final String FIRST_PROBLEM = "mia has 13 pens . then the number of pens grows 2 times . then the number of pens"
      + " grows 2 times . then mia gives away 6 . how many pens does mia have now ? answer :";
  static final String FIRST_ANSWER = "46";

  @TempDir Path tmp;

  @Test
  void embeddedModelSolvesABundledProblem() throws Exception {
    Path dir = DefaultModel.resolve(tmp);
    assertThat(dir.resolve("TRAINING.json")).exists();
    LoadedModel loaded = ModelFolder.open(dir).load(ComputeDtype.FLOAT32, Device.cpu());
    GenerateSettings settings = new GenerateSettings(dir.toString(), ComputeDtype.FLOAT32, "cpu", "demo", "",
        ChatTemplate.NONE, true, 4, 64, "auto");
    // the first held-out problem of the demo's test split (data/arith-test-500.jsonl)
    List<InputRow> rows = List.of(new InputRow("test-0", FIRST_PROBLEM, FIRST_ANSWER, null, null));
    for (DecodeConfig cfg : List.of(DecodeConfig.of(DecodeConfig.Method.STATIC, 64, 16, 1, 0.9),
        DecodeConfig.of(DecodeConfig.Method.FREEDAVE, 64, 16, 8, 0.9),
        DecodeConfig.of(DecodeConfig.Method.FREEDAVE, 64, 16, 8, 0.9).withCache(CacheMode.DUAL))) {
      OutputRow r = new PartitionGenerator(settings, loaded).run(rows, cfg, PartitionGenerator.Progress.NONE).get(0);
      OutputRow.Decoded d = r.decoded();
      assertThat(d.error()).isNull();
      assertThat(d.completion()).as(cfg.label()).contains("####");
      assertThat(d.correct()).as(cfg.label() + ": " + d.completion()).isTrue();
      assertThat(d.matchStatic()).isTrue();
      assertThat(d.finishReason()).isEqualTo("eos");
    }
  }

  @Test
  void aModelPlantedWhereTheCopyGoesIsNeverUsed() throws Exception {
    Path first = DefaultModel.resolve(tmp);
    Path home = first.getParent();
    assertThat(home).isEqualTo(tmp.resolve("freedave-" + System.getProperty("user.name")));
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(home))).isEqualTo("rwx------");
    byte[] genuine = Files.readAllBytes(first.resolve("model.safetensors"));

    // the weights in the copy are swapped, and an index that would take precedence is added
    byte[] planted = genuine.clone();
    planted[planted.length - 1] ^= 1;
    Files.write(first.resolve("model.safetensors"), planted);
    Files.writeString(first.resolve("model.safetensors.index.json"), "{}");
    Path again = DefaultModel.resolve(tmp);
    assertThat(Files.readAllBytes(again.resolve("model.safetensors"))).isEqualTo(genuine);
    assertThat(again.resolve("model.safetensors.index.json")).doesNotExist();

    // a folder under the predictable name that others can write to is not used: a private one instead
    Path other = Files.createDirectories(tmp.resolve("other"));
    Path shared = Files.createDirectories(other.resolve("freedave-" + System.getProperty("user.name")));
    Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
    Path elsewhere = DefaultModel.resolve(other);
    assertThat(elsewhere.startsWith(shared)).isFalse();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(elsewhere.getParent())))
        .isEqualTo("rwx------");
    assertThat(Files.readAllBytes(elsewhere.resolve("model.safetensors"))).isEqualTo(genuine);
  }

  @Test
  void answersAreReadFromDigitByDigitText() {
    assertThat(AnswerCheck.correct("1 3 * 2 = 2 6 . #### 2 6", "26")).isTrue();
    assertThat(AnswerCheck.correct("#### 1 0 4", "104")).isTrue();
    assertThat(AnswerCheck.correct("#### 1 0", "104")).isFalse();
    assertThat(AnswerCheck.correct("so it is 7", "7.0")).isTrue();
  }
}
