package dev.freedave.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.freedave.model.DjlOffline;
import dev.freedave.model.ModelLoadException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

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

  /**
   * A tokenizer from tokenizer.json text.
   *
   * @param source the folder it came from, named in errors
   */
  public static TextCodec fromJson(String json, Path source) {
    Map<String, Integer> added = addedTokens(json, source);
    try {
      // no truncation, no padding: prompts keep every token and the decoder pads batches itself
      DjlOffline.apply();
      HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(
          new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)),
          Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false", "maxLength", "1000000"));
      return new TextCodec(t, added);
    } catch (IOException | RuntimeException e) {
      throw new ModelLoadException("the tokenizer of " + source + " cannot be built: " + e.getMessage(), e);
    }
  }

  /** The tokenizer of a folder that holds tokenizer files (see {@link #tokenizerJson}). */
  public static TextCodec load(Path dir) throws IOException {
    return fromJson(tokenizerJson(dir).orElseThrow(() -> noTokenizer(dir)), dir);
  }

  /** The error for a folder without tokenizer files. */
  public static ModelLoadException noTokenizer(Path dir) {
    return new ModelLoadException("no tokenizer in model folder " + dir
        + ": expected tokenizer.json, or vocab.json + merges.txt of a byte-level BPE");
  }

  /** The folder's tokenizer.json text, converted from a slow tokenizer's files where it has none. */
  public static Optional<String> tokenizerJson(Path modelDir) throws IOException {
    Path file = modelDir.resolve("tokenizer.json");
    if (Files.isRegularFile(file)) {
      return Optional.of(Files.readString(file, StandardCharsets.UTF_8));
    }
    if (ByteLevelBpeJson.canConvert(modelDir)) {
      return Optional.of(ByteLevelBpeJson.fromFolder(modelDir));
    }
    return Optional.empty();
  }

  /** The added tokens (content to id) of tokenizer.json text. */
  public static Map<String, Integer> addedTokens(String json, Path source) {
    Map<String, Integer> out = new LinkedHashMap<>();
    try {
      JsonObject root = JsonParser.parseString(json).getAsJsonObject();
      if (root.has("added_tokens") && root.get("added_tokens").isJsonArray()) {
        for (JsonElement e : root.getAsJsonArray("added_tokens")) {
          JsonObject t = e.getAsJsonObject();
          out.put(t.get("content").getAsString(), t.get("id").getAsInt());
        }
      }
    } catch (RuntimeException e) {
      throw new ModelLoadException("the tokenizer.json of " + source + " is not a tokenizer file: " + e.getMessage(), e);
    }
    return Map.copyOf(out);
  }

  /**
   * The special tokens a folder's {@code special_tokens_map.json} and {@code tokenizer_config.json}
   * name by role ({@code mask_token}, {@code eos_token}, ...), role to content; the latter wins. A
   * value is a string or an object with a {@code content}; files that are absent name nothing.
   */
  public static Map<String, String> namedSpecialTokens(Path dir) throws IOException {
    Map<String, String> out = new LinkedHashMap<>();
    for (String name : new String[] {"special_tokens_map.json", "tokenizer_config.json"}) {
      Path file = dir.resolve(name);
      if (!Files.isRegularFile(file)) {
        continue;
      }
      try {
        JsonObject root = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject();
        for (Map.Entry<String, JsonElement> e : root.entrySet()) {
          if (!e.getKey().endsWith("_token") || e.getValue().isJsonNull()) {
            continue;
          }
          JsonElement v = e.getValue();
          if (v.isJsonPrimitive() && v.getAsJsonPrimitive().isString()) {
            out.put(e.getKey(), v.getAsString());
          } else if (v.isJsonObject() && v.getAsJsonObject().has("content")) {
            out.put(e.getKey(), v.getAsJsonObject().get("content").getAsString());
          }
        }
      } catch (RuntimeException e) {
        throw new ModelLoadException(file + " is not a JSON object of special tokens: " + e.getMessage(), e);
      }
    }
    return out;
  }

  /** The added (special) tokens, content to id. */
  public Map<String, Integer> addedTokens() {
    return addedTokens;
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
