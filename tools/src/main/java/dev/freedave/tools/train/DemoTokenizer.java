package dev.freedave.tools.train;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.freedave.text.WordLevelTokenizer;
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
    JsonObject digits = WordLevelTokenizer.preTokenizer("Digits");
    digits.addProperty("individual_digits", true);
    JsonArray seq = new JsonArray();
    seq.add(WordLevelTokenizer.preTokenizer("WhitespaceSplit"));
    seq.add(digits);
    JsonObject pre = WordLevelTokenizer.preTokenizer("Sequence");
    pre.add("pretokenizers", seq);
    return WordLevelTokenizer.json(tokens(), SPECIALS.length, "<unk>", pre);
  }
}
