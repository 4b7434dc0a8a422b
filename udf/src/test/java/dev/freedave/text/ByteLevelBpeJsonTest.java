package dev.freedave.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.freedave.model.ModelFolder;
import dev.freedave.model.ModelLoadException;
import dev.freedave.model.ModelSpec;
import dev.freedave.testkit.TinyModels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The Dream tokenizer conversion against transformers: the fixture folder (a byte-level BPE trained
 * with HF tokenizers, saved in Dream's slow-tokenizer format, no tokenizer.json) and the ids that
 * transformers 5.17's Qwen2Tokenizer gave for each string, cross-checked there against a plain
 * port of the slow algorithm (notebooks/real_checkpoint_fixtures.py).
 */
class ByteLevelBpeJsonTest {
  private static final Path FIXTURE = Path.of("src/test/resources/dream-tokenizer");

  record Case(String text, int[] ids, String decoded) {}

  static List<Case> cases() throws Exception {
    JsonArray a = JsonParser.parseString(Files.readString(FIXTURE.resolve("cases.json"), StandardCharsets.UTF_8))
        .getAsJsonArray();
    List<Case> out = new ArrayList<>();
    for (JsonElement e : a) {
      JsonObject o = e.getAsJsonObject();
      JsonArray ids = o.getAsJsonArray("ids");
      int[] v = new int[ids.size()];
      for (int i = 0; i < v.length; i++) {
        v[i] = ids.get(i).getAsInt();
      }
      out.add(new Case(o.get("text").getAsString(), v, o.get("decoded").getAsString()));
    }
    return out;
  }

  @Test
  void idsEqualTransformersQwen2TokenizerOnEveryFixtureString() throws Exception {
    assertThat(Files.exists(FIXTURE.resolve("tokenizer.json"))).isFalse();
    List<Case> cases = cases();
    assertThat(cases).hasSizeGreaterThanOrEqualTo(50);
    List<String> wrong = new ArrayList<>();
    try (TextCodec codec = TextCodec.load(FIXTURE)) {
      for (Case c : cases) {
        int[] got = codec.encode(c.text());
        if (!java.util.Arrays.equals(got, c.ids())) {
          wrong.add(c.text() + " -> " + java.util.Arrays.toString(got) + " expected " + java.util.Arrays.toString(c.ids()));
        }
        assertThat(codec.decode(got, false)).as("decode of %s", c.text()).isEqualTo(c.decoded());
      }
    }
    assertThat(wrong).as("strings whose ids differ from transformers").isEmpty();
  }

  @ParameterizedTest
  @EnumSource(TinyModels.RealFamily.class)
  void everyAddedTokenEncodesToItsOwnIdEvenWhereIdsHaveGaps(TinyModels.RealFamily family, @TempDir Path tmp)
      throws Exception {
    Path dir = TinyModels.writeLike(tmp.resolve("m"), family, 1, 1);
    try (TextCodec codec = TextCodec.load(dir)) {
      for (var e : codec.addedTokens().entrySet()) {
        assertThat(codec.encode(e.getKey())).as(e.getKey()).containsExactly(e.getValue());
      }
    }
  }

  @Test
  void addedTokensAreSingleIdsAndLookAlikesAreNot() throws Exception {
    try (TextCodec codec = TextCodec.load(FIXTURE)) {
      for (var e : codec.addedTokens().entrySet()) {
        assertThat(codec.encode(e.getKey())).as(e.getKey()).containsExactly(e.getValue());
      }
      int imEnd = codec.addedTokenId("<|im_end|>");
      assertThat(codec.encode("a<|im_end|>b")).contains(imEnd).hasSize(3);
      assertThat(codec.encode("<|not_a_special|>")).doesNotContain(imEnd).hasSizeGreaterThan(3);
      assertThat(codec.decode(new int[] {imEnd}, true)).isEmpty();
    }
  }

  @Test
  void dreamIdsComeFromTheFolderAndEndTheAnswer(@TempDir Path tmp) throws Exception {
    Path dir = TinyModels.writeLike(tmp.resolve("dream"), TinyModels.RealFamily.DREAM_7B, 1, 1);
    assertThat(dir.resolve("tokenizer.json")).doesNotExist();
    try (TextCodec codec = TextCodec.load(dir)) {
      assertThat(codec.addedTokenId("<|im_end|>")).isEqualTo(151645);
      assertThat(codec.addedTokenId("<|mask|>")).isEqualTo(151666);
      int[] ids = codec.encode("<|im_start|>user\nhello world<|im_end|>");
      assertThat(ids[0]).isEqualTo(151644);
      assertThat(ids[ids.length - 1]).isEqualTo(151645);
      assertThat(codec.decode(ids, true)).isEqualTo("user\nhello world");
    }
    ModelSpec spec = ModelFolder.open(dir).spec();
    assertThat(spec.maskTokenId()).isEqualTo(151666);
    assertThat(spec.endTokenIds()).containsExactly(151643, 151645);
    assertThat(spec.predictionOffset()).isEqualTo(1);
  }

  @Test
  void aTokenizerWhoseMaskDisagreesWithConfigIsRefused(@TempDir Path tmp) throws Exception {
    Path dir = TinyModels.writeLike(tmp.resolve("llada"), TinyModels.RealFamily.LLADA_8B, 1, 1);
    String config = Files.readString(dir.resolve("config.json")).replace("126336", "126335");
    Files.writeString(dir.resolve("config.json"), config);
    assertThatThrownBy(() -> ModelFolder.open(dir))
        .isInstanceOf(ModelLoadException.class).hasMessageContaining("<|mdm_mask|> is 126336");
  }

  @Test
  void aFolderWithoutAnyTokenizerFailsWithAClearMessage(@TempDir Path tmp) {
    assertThatThrownBy(() -> TextCodec.load(tmp)).isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("tokenizer.json, or vocab.json + merges.txt");
  }
}
