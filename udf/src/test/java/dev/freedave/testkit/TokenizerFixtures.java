package dev.freedave.testkit;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.freedave.text.TokenizerJson.AddedToken;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Tokenizer files for synthetic checkpoints, in the formats the real models ship. */
public final class TokenizerFixtures {
  private TokenizerFixtures() {}

  /** A vocabulary and its merges, in rank order. */
  public record Bpe(Map<String, Integer> vocab, List<String> merges) {}

  /**
   * A small byte-level BPE for synthetic checkpoints: the 256 byte symbols, merges that build each of
   * {@code words} with and without a leading space, and unreachable fillers up to {@code size} ids so
   * that added tokens can sit at a real model's ids.
   */
  public static Bpe wordBpe(List<String> words, int size) {
    Map<String, Integer> vocab = new LinkedHashMap<>();
    String[] symbol = byteSymbols();
    for (String sym : symbol) {
      vocab.put(sym, vocab.size());
    }
    List<String> merges = new ArrayList<>();
    for (String word : words) {
      for (String form : List.of(word, " " + word)) {
        StringBuilder mapped = new StringBuilder();
        for (byte b : form.getBytes(StandardCharsets.UTF_8)) {
          mapped.append(symbol[b & 0xff]);
        }
        String left = mapped.substring(0, 1);
        for (int i = 1; i < mapped.length(); i++) {
          String right = mapped.substring(i, i + 1);
          if (!vocab.containsKey(left + right)) {
            merges.add(left + " " + right);
            vocab.put(left + right, vocab.size());
          }
          left = left + right;
        }
      }
    }
    while (vocab.size() < size) {
      vocab.put("<unused_" + vocab.size() + ">", vocab.size());
    }
    return new Bpe(vocab, merges);
  }

  /** GPT-2's byte → printable character map that byte-level BPE vocabularies are written in. */
  static String[] byteSymbols() {
    String[] out = new String[256];
    int extra = 0;
    for (int b = 0; b < 256; b++) {
      boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      out[b] = String.valueOf((char) (printable ? b : 256 + extra++));
    }
    return out;
  }

  /** A slow tokenizer's tokenizer_config.json listing the added tokens, as Dream ships it. */
  /**
   * A tokenizer_config.json of these added tokens, as transformers writes it for a Qwen tokenizer;
   * {@code roles} names special tokens by role (eos_token, mask_token, ...).
   */
  public static String tokenizerConfig(List<AddedToken> added, Map<String, String> roles) {
    JsonObject decoder = new JsonObject();
    for (AddedToken t : added) {
      JsonObject a = new JsonObject();
      a.addProperty("content", t.content());
      a.addProperty("lstrip", false);
      a.addProperty("normalized", false);
      a.addProperty("rstrip", false);
      a.addProperty("single_word", false);
      a.addProperty("special", t.special());
      decoder.add(Integer.toString(t.id()), a);
    }
    JsonObject root = new JsonObject();
    root.add("added_tokens_decoder", decoder);
    root.addProperty("tokenizer_class", "Qwen2Tokenizer");
    root.addProperty("clean_up_tokenization_spaces", false);
    roles.forEach(root::addProperty);
    return new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(root);
  }

  /** A special_tokens_map.json naming these roles, each an object with its content, as transformers writes it. */
  public static String specialTokensMap(Map<String, String> roles) {
    JsonObject root = new JsonObject();
    roles.forEach((role, content) -> {
      JsonObject t = new JsonObject();
      t.addProperty("content", content);
      t.addProperty("lstrip", false);
      t.addProperty("normalized", false);
      t.addProperty("rstrip", false);
      t.addProperty("single_word", false);
      root.add(role, t);
    });
    return new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(root);
  }

}
