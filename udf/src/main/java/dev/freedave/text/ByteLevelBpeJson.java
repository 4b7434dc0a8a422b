package dev.freedave.text;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.freedave.model.ModelLoadException;
import dev.freedave.text.TokenizerJson.AddedToken;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The fast-tokenizer {@code tokenizer.json} of a Qwen2-style byte-level BPE, built from the files a
 * slow tokenizer ships ({@code vocab.json}, {@code merges.txt}, added tokens in
 * {@code tokenizer_config.json} / {@code added_tokens.json}). Dream-v0 ships only those (docs/checkpoints.md),
 * and DJL's (vocab, merges) constructor makes a bare BPE without the byte-level pre-tokenizer,
 * normaliser, decoder or added tokens, so the JSON is assembled here: NFC, the Qwen2 pre-split regex
 * (isolated), byte-level mapping without its own regex, byte-level decoder, BPE with merge ranks.
 * Ids are checked against transformers' Qwen2Tokenizer by {@code ByteLevelBpeJsonTest}.
 */
public final class ByteLevelBpeJson {
  /** Qwen2's pre-tokenizer split: contractions, letter runs with one leading non-letter, single digits, ... */
  public static final String QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
      + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

  private ByteLevelBpeJson() {}

  /** Whether {@code dir} holds a slow byte-level BPE tokenizer this class can convert. */
  public static boolean canConvert(Path dir) {
    return Files.isRegularFile(dir.resolve("vocab.json")) && Files.isRegularFile(dir.resolve("merges.txt"));
  }

  /** Reads a slow-tokenizer folder and returns the equivalent tokenizer.json text. */
  public static String fromFolder(Path dir) throws IOException {
    JsonObject vocab = JsonParser.parseString(Files.readString(dir.resolve("vocab.json"), StandardCharsets.UTF_8))
        .getAsJsonObject();
    List<String> merges = readMerges(dir.resolve("merges.txt"));
    Map<String, Integer> v = new LinkedHashMap<>();
    for (Map.Entry<String, JsonElement> e : vocab.entrySet()) {
      v.put(e.getKey(), e.getValue().getAsInt());
    }
    return build(v, merges, addedTokens(dir));
  }

  /**
   * A slow-tokenizer folder's added tokens: added_tokens.json ({"content": id}) and
   * tokenizer_config.json's added_tokens_decoder, which also says which are special.
   */
  private static List<AddedToken> addedTokens(Path dir) throws IOException {
    Map<Integer, AddedToken> added = new LinkedHashMap<>();
    Path addedJson = dir.resolve("added_tokens.json");
    if (Files.isRegularFile(addedJson)) { // {"content": id}; specialness comes from tokenizer_config below
      for (Map.Entry<String, JsonElement> e : parse(addedJson).entrySet()) {
        int id = e.getValue().getAsInt();
        added.put(id, new AddedToken(id, e.getKey(), true));
      }
    }
    Path config = dir.resolve("tokenizer_config.json");
    if (Files.isRegularFile(config) && parse(config).has("added_tokens_decoder")) {
      for (Map.Entry<String, JsonElement> e : parse(config).getAsJsonObject("added_tokens_decoder").entrySet()) {
        JsonObject t = e.getValue().getAsJsonObject();
        int id = Integer.parseInt(e.getKey());
        added.put(id, new AddedToken(id, t.get("content").getAsString(),
            !t.has("special") || t.get("special").getAsBoolean()));
      }
    }
    return new ArrayList<>(added.values());
  }

  /** merges.txt lines "a b" in rank order; the "#version" header and blank lines are not merges. */
  static List<String> readMerges(Path file) throws IOException {
    List<String> merges = new ArrayList<>();
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || (i == 0 && line.startsWith("#version"))) {
        continue;
      }
      if (line.split(" ").length != 2) {
        throw new ModelLoadException(file + " line " + (i + 1) + " is not a merge 'a b': " + line);
      }
      merges.add(line);
    }
    return merges;
  }

  public static String build(Map<String, Integer> vocab, List<String> merges, List<AddedToken> added) {
    List<AddedToken> sorted = new ArrayList<>(added);
    sorted.sort(Comparator.comparingInt(AddedToken::id));
    JsonObject nfc = new JsonObject();
    nfc.addProperty("type", "NFC");
    JsonObject split = new JsonObject();
    split.addProperty("type", "Split");
    JsonObject pattern = new JsonObject();
    pattern.addProperty("Regex", QWEN2_SPLIT);
    split.add("pattern", pattern);
    split.addProperty("behavior", "Isolated");
    split.addProperty("invert", false);
    JsonArray pre = new JsonArray();
    pre.add(split);
    pre.add(byteLevel());
    JsonObject sequence = new JsonObject();
    sequence.addProperty("type", "Sequence");
    sequence.add("pretokenizers", pre);

    JsonObject model = new JsonObject();
    model.addProperty("type", "BPE");
    model.add("dropout", null);
    model.add("unk_token", null);
    model.addProperty("continuing_subword_prefix", "");
    model.addProperty("end_of_word_suffix", "");
    model.addProperty("fuse_unk", false);
    model.addProperty("byte_fallback", false);
    model.addProperty("ignore_merges", false);
    // Added tokens also go into the model vocabulary at their ids: tokenizers assigns an added token
    // that the model does not know the next free id, which is wrong wherever the ids have gaps
    // (LLaDA's 126080.., a fine-tune's extra tokens). BPE never produces these entries (no merges).
    Map<String, Integer> full = new LinkedHashMap<>(vocab);
    Map<Integer, String> byId = new java.util.HashMap<>();
    vocab.forEach((tok, id) -> byId.put(id, tok));
    for (AddedToken t : sorted) {
      Integer known = full.get(t.content());
      String holder = byId.get(t.id());
      if ((known != null && known != t.id()) || (holder != null && !holder.equals(t.content()))) {
        throw new ModelLoadException("added token " + t.content() + " has id " + t.id() + " but the vocabulary gives "
            + (known != null ? t.content() + " id " + known : "id " + t.id() + " to " + holder));
      }
      full.put(t.content(), t.id());
    }
    JsonObject v = new JsonObject();
    full.entrySet().stream().sorted(Map.Entry.comparingByValue()).forEach(e -> v.addProperty(e.getKey(), e.getValue()));
    model.add("vocab", v);
    JsonArray m = new JsonArray();
    merges.forEach(m::add);
    model.add("merges", m);
    JsonObject root = TokenizerJson.document(sorted, nfc, sequence, byteLevel(), byteLevel(),
        model);
    return new GsonBuilder().serializeNulls().disableHtmlEscaping().create().toJson(root);
  }

  private static JsonObject byteLevel() {
    JsonObject b = new JsonObject();
    b.addProperty("type", "ByteLevel");
    b.addProperty("add_prefix_space", false);
    b.addProperty("trim_offsets", false);
    b.addProperty("use_regex", false);
    return b;
  }

  private static JsonObject parse(Path file) throws IOException {
    return JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject();
  }
}
