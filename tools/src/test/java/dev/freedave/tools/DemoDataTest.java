package dev.freedave.tools;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonParser;
import dev.freedave.model.DefaultModel;
import dev.freedave.tools.train.DemoTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The packaged demo model was trained on what {@code demo-data} writes. */
class DemoDataTest {
  @Test
  void theEmbeddedTokenizerIsTheOneTheDemoDataIsMadeWith(@TempDir Path tmp) throws Exception {
    Path dir = DefaultModel.resolve(tmp);
    assertThat(JsonParser.parseString(Files.readString(dir.resolve("tokenizer.json"))))
        .isEqualTo(JsonParser.parseString(DemoTokenizer.json()));
  }

  @Test
  void theBundledSamplesAreHeldOutProblems() throws Exception {
    var samples = PromptFile.samples();
    assertThat(samples).isNotEmpty();
    var test = PromptFile.read(Path.of("..", "data", "arith-test-500.jsonl"));
    assertThat(test.stream().map(PromptFile.Prompt::text).toList()).containsAll(samples.stream()
        .map(PromptFile.Prompt::text).toList());
  }
}
