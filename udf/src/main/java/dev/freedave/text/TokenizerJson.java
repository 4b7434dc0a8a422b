package dev.freedave.text;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.List;

/** The HF tokenizers file format (tokenizer.json) that the project's tokenizer writers share. */
public final class TokenizerJson {
  private TokenizerJson() {}

  /** A token outside the model's vocabulary rules, matched in raw text before normalisation and splitting. */
  public record AddedToken(int id, String content, boolean special) {}

  /**
   * The document's top level, in the order the HF tokenizers library writes it; a null part is
   * written as JSON null (callers serialize with nulls kept).
   */
  static JsonObject document(List<AddedToken> added, JsonElement normalizer, JsonElement preTokenizer,
      JsonElement postProcessor, JsonElement decoder, JsonObject model) {
    JsonArray addedArray = new JsonArray();
    for (AddedToken t : added) {
      JsonObject a = new JsonObject();
      a.addProperty("id", t.id());
      a.addProperty("content", t.content());
      a.addProperty("single_word", false);
      a.addProperty("lstrip", false);
      a.addProperty("rstrip", false);
      a.addProperty("normalized", false);
      a.addProperty("special", t.special());
      addedArray.add(a);
    }
    JsonObject root = new JsonObject();
    root.addProperty("version", "1.0");
    root.add("truncation", null);
    root.add("padding", null);
    root.add("added_tokens", addedArray);
    root.add("normalizer", normalizer);
    root.add("pre_tokenizer", preTokenizer);
    root.add("post_processor", postProcessor);
    root.add("decoder", decoder);
    root.add("model", model);
    return root;
  }
}
