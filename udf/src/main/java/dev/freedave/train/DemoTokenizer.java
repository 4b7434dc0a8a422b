package dev.freedave.train;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * The demo model's tokenizer.json: word-level over {@link ArithmeticProblems#vocabulary()}, every
 * digit its own token (a Digits pre-tokenizer splits numbers), an end token and a mask token.
 */
public final class DemoTokenizer {
  public static final int EOS = 0;
  public static final int MASK = 1;
  public static final int UNK = 2;
  static final String[] SPECIALS = {"<|eos|>", "<|mask|>", "<unk>"};

  private DemoTokenizer() {}

  public static List<String> tokens() {
    List<String> t = new ArrayList<>(List.of(SPECIALS));
    t.addAll(ArithmeticProblems.vocabulary());
    return t;
  }

  public static String json() {
    List<String> tokens = tokens();
    JsonObject vocab = new JsonObject();
    for (int i = 0; i < tokens.size(); i++) {
      vocab.addProperty(tokens.get(i), i);
    }
    JsonArray added = new JsonArray();
    for (int i = 0; i < SPECIALS.length; i++) {
      JsonObject a = new JsonObject();
      a.addProperty("id", i);
      a.addProperty("content", SPECIALS[i]);
      a.addProperty("single_word", false);
      a.addProperty("lstrip", false);
      a.addProperty("rstrip", false);
      a.addProperty("normalized", false);
      a.addProperty("special", true);
      added.add(a);
    }
    JsonObject ws = new JsonObject();
    ws.addProperty("type", "WhitespaceSplit");
    JsonObject digits = new JsonObject();
    digits.addProperty("type", "Digits");
    digits.addProperty("individual_digits", true);
    JsonArray seq = new JsonArray();
    seq.add(ws);
    seq.add(digits);
    JsonObject pre = new JsonObject();
    pre.addProperty("type", "Sequence");
    pre.add("pretokenizers", seq);
    JsonObject model = new JsonObject();
    model.addProperty("type", "WordLevel");
    model.add("vocab", vocab);
    model.addProperty("unk_token", "<unk>");
    JsonObject root = new JsonObject();
    root.addProperty("version", "1.0");
    root.add("truncation", null);
    root.add("padding", null);
    root.add("added_tokens", added);
    root.add("normalizer", null);
    root.add("pre_tokenizer", pre);
    root.add("post_processor", null);
    root.add("decoder", null);
    root.add("model", model);
    return new GsonBuilder().serializeNulls().setPrettyPrinting().create().toJson(root);
  }
}
