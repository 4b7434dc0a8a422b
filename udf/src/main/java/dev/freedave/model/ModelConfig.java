package dev.freedave.model;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The hyper-parameters of a Llama-family diffusion LM, read from an unmodified Hugging Face
 * {@code config.json} of either naming scheme (LLaDA's OLMo-style keys or Qwen2/Dream keys).
 *
 * @param maskTokenId -1 when the config names none (a plain Qwen2 body); decoders refuse such a model
 * @param predictionOffset 1 for Dream-style models that read position p from the logits at p-1
 */
public record ModelConfig(
    Family family,
    int vocabSize,
    int hiddenSize,
    int numLayers,
    int numHeads,
    int numKvHeads,
    int headDim,
    int intermediateSize,
    double rmsNormEps,
    double ropeTheta,
    boolean qkvBias,
    boolean tiedEmbeddings,
    int maxSequenceLength,
    int maskTokenId,
    List<Integer> eosTokenIds,
    int predictionOffset) {

  /** The two tensor naming schemes we load. */
  public enum Family {
    LLADA,
    QWEN2
  }

  public ModelConfig {
    eosTokenIds = List.copyOf(eosTokenIds);
    require(numHeads % numKvHeads == 0, "num heads %d is not a multiple of kv heads %d", numHeads, numKvHeads);
    require(headDim % 2 == 0, "head_dim %d must be even for rotary embeddings", headDim);
    require(vocabSize > 0 && hiddenSize > 0 && numLayers > 0 && intermediateSize > 0,
        "sizes must be positive: vocab %d hidden %d layers %d ffn %d", vocabSize, hiddenSize, numLayers, intermediateSize);
  }

  public int kvGroups() {
    return numHeads / numKvHeads;
  }

  public static ModelConfig read(Path modelDir) throws IOException {
    Path file = modelDir.resolve("config.json");
    if (!Files.isRegularFile(file)) {
      throw new ModelLoadException("no config.json in model folder " + modelDir);
    }
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      return parse(JsonParser.parseReader(r).getAsJsonObject(), file.toString());
    } catch (IllegalStateException | com.google.gson.JsonParseException e) {
      throw new ModelLoadException("config.json is not a JSON object: " + file, e);
    }
  }

  public static ModelConfig parse(JsonObject c, String source) {
    String type = c.has("model_type") ? c.get("model_type").getAsString() : "";
    return switch (type.toLowerCase()) {
      case "llada" -> parseLlada(c, source);
      case "dream", "qwen2" -> parseQwen2(c, source);
      default -> throw new ModelLoadException(
          "unknown model_type '" + type + "' in " + source + " (supported: llada, Dream, qwen2)");
    };
  }

  private static ModelConfig parseLlada(JsonObject c, String src) {
    String act = optString(c, "activation_type", "silu");
    String block = optString(c, "block_type", "llama");
    String norm = optString(c, "layer_norm_type", "rms");
    require(act.equals("silu") && block.equals("llama") && norm.equals("rms"),
        "%s: only the Llama-style LLaDA block is supported (activation silu, block llama, norm rms), got %s/%s/%s",
        src, act, block, norm);
    require(!optBool(c, "alibi", false) && optBool(c, "rope", true), "%s: LLaDA without RoPE is not supported", src);
    int d = intKey(c, "d_model", src);
    int heads = intKey(c, "n_heads", src);
    int kv = c.has("n_kv_heads") && !c.get("n_kv_heads").isJsonNull() ? c.get("n_kv_heads").getAsInt() : heads;
    int ffn = c.has("mlp_hidden_size") && !c.get("mlp_hidden_size").isJsonNull()
        ? c.get("mlp_hidden_size").getAsInt()
        : (int) Math.round(optDouble(c, "mlp_ratio", 4) * d);
    int vocab = c.has("embedding_size") && !c.get("embedding_size").isJsonNull()
        ? c.get("embedding_size").getAsInt()
        : intKey(c, "vocab_size", src);
    return new ModelConfig(Family.LLADA, vocab, d, intKey(c, "n_layers", src), heads, kv, d / heads, ffn,
        optDouble(c, "rms_norm_eps", 1e-5), optDouble(c, "rope_theta", 10000),
        optBool(c, "include_qkv_bias", false) || optBool(c, "include_bias", false),
        optBool(c, "weight_tying", false), (int) optDouble(c, "max_sequence_length", 4096),
        (int) optDouble(c, "mask_token_id", 126336), idList(c.get("eos_token_id")), 0);
  }

  private static ModelConfig parseQwen2(JsonObject c, String src) {
    String act = optString(c, "hidden_act", "silu");
    require(act.equals("silu"), "%s: hidden_act %s is not supported (silu only)", src, act);
    require(!optBool(c, "use_sliding_window", false), "%s: sliding-window attention is not supported", src);
    int d = intKey(c, "hidden_size", src);
    int heads = intKey(c, "num_attention_heads", src);
    int kv = c.has("num_key_value_heads") ? c.get("num_key_value_heads").getAsInt() : heads;
    int headDim = c.has("head_dim") && !c.get("head_dim").isJsonNull() ? c.get("head_dim").getAsInt() : d / heads;
    // transformers 5 moved rope_theta into rope_parameters; older files keep it at the top level
    double theta = c.has("rope_theta") ? c.get("rope_theta").getAsDouble()
        : c.has("rope_parameters") && c.getAsJsonObject("rope_parameters").has("rope_theta")
            ? c.getAsJsonObject("rope_parameters").get("rope_theta").getAsDouble() : 10000;
    if (c.has("rope_scaling") && !c.get("rope_scaling").isJsonNull()) {
      throw new ModelLoadException(src + ": rope_scaling is not supported");
    }
    // The Dream checkpoints name their mask id in config.json; a plain qwen2 body has none.
    int mask = (int) optDouble(c, "mask_token_id", -1);
    int maxLen = (int) optDouble(c, "max_position_embeddings", 2048);
    return new ModelConfig(Family.QWEN2, intKey(c, "vocab_size", src), d, intKey(c, "num_hidden_layers", src),
        heads, kv, headDim, intKey(c, "intermediate_size", src), optDouble(c, "rms_norm_eps", 1e-6), theta,
        true, optBool(c, "tie_word_embeddings", false), maxLen, mask, idList(c.get("eos_token_id")), 1);
  }

  /** An id or a list of ids (as eos_token_id is written either way); empty when absent or null. */
  static List<Integer> idList(JsonElement e) {
    List<Integer> ids = new ArrayList<>();
    if (e == null || e.isJsonNull()) {
      return ids;
    }
    if (e.isJsonArray()) {
      for (JsonElement x : (JsonArray) e) {
        ids.add(x.getAsInt());
      }
    } else {
      ids.add(e.getAsInt());
    }
    return ids;
  }

  private static int intKey(JsonObject c, String key, String src) {
    if (!c.has(key) || c.get(key).isJsonNull()) {
      throw new ModelLoadException(src + ": missing required key '" + key + "'");
    }
    return c.get(key).getAsInt();
  }

  private static double optDouble(JsonObject c, String key, double def) {
    return c.has(key) && !c.get(key).isJsonNull() ? c.get(key).getAsDouble() : def;
  }

  private static boolean optBool(JsonObject c, String key, boolean def) {
    return c.has(key) && !c.get(key).isJsonNull() ? c.get(key).getAsBoolean() : def;
  }

  private static String optString(JsonObject c, String key, String def) {
    return c.has(key) && !c.get(key).isJsonNull() ? c.get(key).getAsString() : def;
  }

  private static void require(boolean ok, String fmt, Object... args) {
    if (!ok) {
      throw new ModelLoadException(String.format(fmt, args));
    }
  }
}
