package dev.freedave.text;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.util.List;

/** Writes a word-level {@code tokenizer.json} (the HF tokenizers format) for the project's own vocabularies. */
public final class WordLevelTokenizer {
  private WordLevelTokenizer() {}

  /**
   * @param tokens id i is {@code tokens.get(i)}
   * @param specials the first {@code specials} tokens are special (never split, skipped on decode)
   * @param unk the token for unknown words
   * @param preTokenizer how text is split into words before the lookup
   */
  public static String json(List<String> tokens, int specials, String unk, JsonObject preTokenizer) {
    JsonObject vocab = new JsonObject();
    for (int i = 0; i < tokens.size(); i++) {
      vocab.addProperty(tokens.get(i), i);
    }
    JsonArray added = new JsonArray();
    for (int i = 0; i < specials; i++) {
      JsonObject a = new JsonObject();
      a.addProperty("id", i);
      a.addProperty("content", tokens.get(i));
      a.addProperty("single_word", false);
      a.addProperty("lstrip", false);
      a.addProperty("rstrip", false);
      a.addProperty("normalized", false);
      a.addProperty("special", true);
      added.add(a);
    }
    JsonObject model = new JsonObject();
    model.addProperty("type", "WordLevel");
    model.add("vocab", vocab);
    model.addProperty("unk_token", unk);
    JsonObject root = new JsonObject();
    root.addProperty("version", "1.0");
    root.add("truncation", null);
    root.add("padding", null);
    root.add("added_tokens", added);
    root.add("normalizer", null);
    root.add("pre_tokenizer", preTokenizer);
    root.add("post_processor", null);
    root.add("decoder", null);
    root.add("model", model);
    return new GsonBuilder().serializeNulls().setPrettyPrinting().create().toJson(root);
  }

  /** A pre-tokenizer of the given HF type with no options, e.g. "Whitespace". */
  public static JsonObject preTokenizer(String type) {
    JsonObject p = new JsonObject();
    p.addProperty("type", type);
    return p;
  }
}
