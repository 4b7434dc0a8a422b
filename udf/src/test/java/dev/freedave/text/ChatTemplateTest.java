package dev.freedave.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import dev.freedave.model.ModelLoadException;
import dev.freedave.testkit.TinyModels;
import dev.freedave.text.TextCodec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChatTemplateTest {
  /**
   * LLaDA-8B-Instruct's chat_template (verbatim from its tokenizer_config.json) rendered by
   * transformers' apply_chat_template (jinja2) for 8 prompts, by notebooks/real_checkpoint_fixtures.py.
   */
  @Test
  void lladaFormatEqualsTransformersRenderingOfTheRealTemplate() throws Exception {
    var cases = JsonParser.parseString(Files.readString(Path.of("src/test/resources/llada-template.json"),
        StandardCharsets.UTF_8)).getAsJsonArray();
    assertThat(cases.size()).isGreaterThanOrEqualTo(8);
    for (JsonElement e : cases) {
      String prompt = e.getAsJsonObject().get("prompt").getAsString();
      assertThat(ChatTemplate.LLADA.apply(prompt)).as("prompt %s", prompt)
          .isEqualTo(e.getAsJsonObject().get("rendered").getAsString());
    }
  }

  @Test
  void templatesNeedTheirSpecialTokensInTheTokenizer(@TempDir Path tmp) throws Exception {
    Path llada = TinyModels.writeLike(tmp.resolve("llada"), TinyModels.RealFamily.LLADA_8B, 1, 1);
    Path dream = TinyModels.writeLike(tmp.resolve("dream"), TinyModels.RealFamily.DREAM_7B, 1, 1);
    try (TextCodec l = TextCodec.load(llada); TextCodec d = TextCodec.load(dream)) {
      ChatTemplate.LLADA.validate(l);
      ChatTemplate.CHATML.validate(d);
      ChatTemplate.NONE.validate(l);
      assertThatThrownBy(() -> ChatTemplate.CHATML.validate(l)).isInstanceOf(ModelLoadException.class)
          .hasMessageContaining("<|im_start|>").hasMessageContaining("chat-template = none");
      int[] ids = l.encode(ChatTemplate.LLADA.apply(" hello world "));
      assertThat(ids[0]).isEqualTo(126080);
      assertThat(ids).contains(126346, 126347, 126348);
      assertThat(l.decode(ids)).isEqualTo("user\n\nhello worldassistant\n\n");
    }
  }

  @Test
  void pythonStripRemovesUnicodeSpaceLikeJinjaTrim() {
    assertThat(ChatTemplate.pythonStrip("\u00a0\u3000 x \t\n\u2009")).isEqualTo("x");
  }
}
