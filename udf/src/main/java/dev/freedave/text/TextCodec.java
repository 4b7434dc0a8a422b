package dev.freedave.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.freedave.model.ModelLoadException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Text ↔ ids through a model folder's own tokenizer (never a hub id): its {@code tokenizer.json},
 * or, for folders that ship only a slow tokenizer (Dream: vocab.json + merges.txt), the equivalent
 * JSON built by {@link ByteLevelBpeJson}. Special tokens are never added: prompt templates carry
 * their own.
 */
public final class TextCodec implements AutoCloseable {
  private final HuggingFaceTokenizer tokenizer;
  private final Map<String, Integer> addedTokens;

  private TextCodec(HuggingFaceTokenizer tokenizer, Map<String, Integer> addedTokens) {
    this.tokenizer = tokenizer;
    this.addedTokens = addedTokens;
  }

  public static TextCodec load(Path modelDir) throws IOException {
    String json = tokenizerJson(modelDir);
    // no truncation, no padding: prompts keep every token and the decoder pads batches itself
    HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(
        new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)),
        Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false", "maxLength", "1000000"));
    return new TextCodec(t, addedTokens(json));
  }

  /** The folder's tokenizer.json text, converted from a slow tokenizer's files where it has none. */
  public static String tokenizerJson(Path modelDir) throws IOException {
    Path file = modelDir.resolve("tokenizer.json");
    if (Files.isRegularFile(file)) {
      return Files.readString(file, StandardCharsets.UTF_8);
    }
    if (ByteLevelBpeJson.canConvert(modelDir)) {
      return ByteLevelBpeJson.fromFolder(modelDir);
    }
    throw new ModelLoadException("no tokenizer in model folder " + modelDir
        + ": expected tokenizer.json, or vocab.json + merges.txt of a byte-level BPE");
  }

  /**
   * The folder's added tokens (content to id), read without building a tokenizer; empty when it has
   * no tokenizer at all.
   */
  public static Map<String, Integer> addedTokens(Path modelDir) throws IOException {
    if (Files.isRegularFile(modelDir.resolve("tokenizer.json"))) {
      return addedTokens(Files.readString(modelDir.resolve("tokenizer.json"), StandardCharsets.UTF_8));
    }
    if (ByteLevelBpeJson.canConvert(modelDir)) {
      Map<String, Integer> out = new LinkedHashMap<>();
      ByteLevelBpeJson.addedTokens(modelDir).forEach(t -> out.put(t.content(), t.id()));
      return Map.copyOf(out);
    }
    return Map.of();
  }

  private static Map<String, Integer> addedTokens(String json) {
    Map<String, Integer> out = new LinkedHashMap<>();
    JsonObject root = JsonParser.parseString(json).getAsJsonObject();
    if (root.has("added_tokens") && root.get("added_tokens").isJsonArray()) {
      for (JsonElement e : root.getAsJsonArray("added_tokens")) {
        JsonObject t = e.getAsJsonObject();
        out.put(t.get("content").getAsString(), t.get("id").getAsInt());
      }
    }
    return Map.copyOf(out);
  }

  /** The id of an added (special) token, or null when this tokenizer has none by that name. */
  public Integer addedTokenId(String content) {
    return addedTokens.get(content);
  }

  public int[] encode(String text) {
    Encoding e = tokenizer.encode(text, false, false);
    long[] ids = e.getIds();
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = Math.toIntExact(ids[i]);
    }
    return out;
  }

  /** Text of the ids, special tokens skipped. */
  public String decode(int[] ids) {
    return decode(ids, true);
  }

  public String decode(int[] ids, boolean skipSpecialTokens) {
    long[] l = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      l[i] = ids[i];
    }
    return tokenizer.decode(l, skipSpecialTokens);
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
