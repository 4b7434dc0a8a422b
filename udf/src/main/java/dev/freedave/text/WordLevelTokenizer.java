package dev.freedave.text;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import java.util.ArrayList;
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
    List<TokenizerJson.AddedToken> added = new ArrayList<>();
    for (int i = 0; i < specials; i++) {
      added.add(new TokenizerJson.AddedToken(i, tokens.get(i), true));
    }
    JsonObject model = new JsonObject();
    model.addProperty("type", "WordLevel");
    model.add("vocab", vocab);
    model.addProperty("unk_token", unk);
    JsonObject root = TokenizerJson.document(added, null, preTokenizer, null, null, model);
    return new GsonBuilder().serializeNulls().setPrettyPrinting().create().toJson(root);
  }

  /** A pre-tokenizer of the given HF type with no options, e.g. "Whitespace". */
  public static JsonObject preTokenizer(String type) {
    JsonObject p = new JsonObject();
    p.addProperty("type", type);
    return p;
  }
}
