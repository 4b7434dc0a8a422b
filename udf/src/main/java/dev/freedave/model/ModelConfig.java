package dev.freedave.model;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * The hyper-parameters of a Llama-family diffusion LM as an unmodified Hugging Face
 * {@code config.json} of either family states them (LLaDA's OLMo-style keys, Dream's Qwen2 keys;
 * docs/checkpoints.md). {@link #parse} reads one, {@link #toJson} writes one back in the family's keys.
 *
 * @param maskTokenId -1 when the file names none and its model_type has no default (a plain Qwen2 body)
 */
public record ModelConfig(
    ModelFamily family,
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
    List<Integer> eosTokenIds) {

  public ModelConfig {
    eosTokenIds = List.copyOf(eosTokenIds);
    require(vocabSize > 0 && hiddenSize > 0 && numLayers > 0 && intermediateSize > 0 && numHeads > 0
        && numKvHeads > 0 && headDim > 0,
        "sizes must be positive: vocab %d hidden %d layers %d ffn %d heads %d kv heads %d head_dim %d", vocabSize,
        hiddenSize, numLayers, intermediateSize, numHeads, numKvHeads, headDim);
    require(numHeads % numKvHeads == 0, "num heads %d is not a multiple of kv heads %d", numHeads, numKvHeads);
    require(headDim % 2 == 0, "head_dim %d must be even for rotary embeddings", headDim);
    // the core hands greedy picks back as float32, exact for ids below 2^24 (TransformerCore.greedy)
    require(vocabSize < 1 << 24, "vocab %d is not below 2^24 ids", vocabSize);
  }

  /** This config with another mask id (one the tokenizer files name, where config.json has none). */
  public ModelConfig withMaskTokenId(int id) {
    return new ModelConfig(family, vocabSize, hiddenSize, numLayers, numHeads, numKvHeads, headDim, intermediateSize,
        rmsNormEps, ropeTheta, qkvBias, tiedEmbeddings, maxSequenceLength, id, eosTokenIds);
  }

  public int predictionOffset() {
    return family.predictionOffset;
  }

  /**
   * Reads a config.json object.
   *
   * @param source the file, named in every error
   */
  public static ModelConfig parse(JsonObject c, String source) {
    Keys k = new Keys(c, source);
    String type = k.string("model_type", "");
    ModelFamily family = ModelFamily.parse(type, source);
    boolean defaults = family.defaultsApplyTo(type);
    int mask = k.integer("mask_token_id", defaults ? family.defaultMaskId : -1);
    List<Integer> eos = k.ids("eos_token_id");
    if (eos.isEmpty() && defaults) {
      eos = family.defaultEosIds;
    }
    return family == ModelFamily.LLADA ? parseLlada(k, mask, eos) : parseQwen(k, mask, eos, family);
  }

  private static ModelConfig parseLlada(Keys k, int mask, List<Integer> eos) {
    String act = k.string("activation_type", "silu");
    String block = k.string("block_type", "llama");
    String norm = k.string("layer_norm_type", "rms");
    require(act.equals("silu") && block.equals("llama") && norm.equals("rms"),
        "%s: only the Llama-style LLaDA block is supported (activation silu, block llama, norm rms), got %s/%s/%s",
        k.source, act, block, norm);
    require(!k.bool("alibi", false) && k.bool("rope", true), "%s: LLaDA without RoPE is not supported", k.source);
    int d = k.required("d_model");
    int heads = k.required("n_heads");
    require(heads > 0, "%s: n_heads must be positive, got %d", k.source, heads);
    int kv = k.integer("n_kv_heads", heads);
    int ffn = k.has("mlp_hidden_size") ? k.required("mlp_hidden_size") : (int) Math.round(k.number("mlp_ratio", 4) * d);
    int vocab = k.has("embedding_size") ? k.required("embedding_size") : k.required("vocab_size");
    return new ModelConfig(ModelFamily.LLADA, vocab, d, k.required("n_layers"), heads, kv, d / heads, ffn,
        k.number("rms_norm_eps", 1e-5), k.number("rope_theta", 10000),
        k.bool("include_qkv_bias", false) || k.bool("include_bias", false), k.bool("weight_tying", false),
        k.integer("max_sequence_length", ModelFamily.LLADA.defaultMaxSequenceLength), mask, eos);
  }

  /** Dream's Qwen2 keys, or SDAR's Qwen3 ones (q/k/v bias only if attention_bias says so; head_dim defaults to 128). */
  private static ModelConfig parseQwen(Keys k, int mask, List<Integer> eos, ModelFamily family) {
    String act = k.string("hidden_act", "silu");
    require(act.equals("silu"), "%s: hidden_act %s is not supported (silu only)", k.source, act);
    require(!k.bool("use_sliding_window", false), "%s: sliding-window attention is not supported", k.source);
    if (k.has("rope_scaling") && !new Keys(k.object("rope_scaling"), k.source + " rope_scaling")
        .string("rope_type", "default").equals("default")) {
      throw new ModelLoadException(k.source + ": rope_scaling is not supported (only the default RoPE)");
    }
    int d = k.required("hidden_size");
    int heads = k.required("num_attention_heads");
    require(heads > 0, "%s: num_attention_heads must be positive, got %d", k.source, heads);
    // transformers 5 moved rope_theta into rope_parameters; older files keep it at the top level
    double theta = k.has("rope_theta") ? k.number("rope_theta", 0)
        : new Keys(k.object("rope_parameters"), k.source + " rope_parameters").number("rope_theta", 10000);
    boolean sdar = family == ModelFamily.SDAR;
    return new ModelConfig(family, k.required("vocab_size"), d, k.required("num_hidden_layers"), heads,
        k.integer("num_key_value_heads", heads), k.integer("head_dim", sdar ? 128 : d / heads),
        k.required("intermediate_size"), k.number("rms_norm_eps", 1e-6), theta,
        sdar ? k.bool("attention_bias", false) : true, k.bool("tie_word_embeddings", false),
        k.integer("max_position_embeddings", family.defaultMaxSequenceLength), mask, eos);
  }

  /** This config as a config.json in its family's keys, as the released checkpoints write it. */
  public String toJson() {
    JsonObject o = new JsonObject();
    if (family == ModelFamily.LLADA) {
      o.addProperty("model_type", "llada");
      o.addProperty("d_model", hiddenSize);
      o.addProperty("n_layers", numLayers);
      o.addProperty("n_heads", numHeads);
      o.addProperty("n_kv_heads", numKvHeads);
      o.addProperty("mlp_hidden_size", intermediateSize);
      o.addProperty("activation_type", "silu");
      o.addProperty("block_type", "llama");
      o.addProperty("layer_norm_type", "rms");
      o.addProperty("include_qkv_bias", qkvBias);
      o.addProperty("weight_tying", tiedEmbeddings);
      o.addProperty("embedding_size", vocabSize);
      o.addProperty("max_sequence_length", maxSequenceLength);
    } else {
      o.addProperty("model_type", family == ModelFamily.SDAR ? "sdar" : "Dream");
      if (family == ModelFamily.SDAR) {
        o.add("architectures", com.google.gson.JsonParser.parseString("[\"SDARForCausalLM\"]"));
        o.addProperty("attention_bias", qkvBias);
      }
      o.addProperty("hidden_size", hiddenSize);
      o.addProperty("num_hidden_layers", numLayers);
      o.addProperty("num_attention_heads", numHeads);
      o.addProperty("num_key_value_heads", numKvHeads);
      o.addProperty("head_dim", headDim);
      o.addProperty("intermediate_size", intermediateSize);
      o.addProperty("hidden_act", "silu");
      o.addProperty("tie_word_embeddings", tiedEmbeddings);
      o.addProperty("max_position_embeddings", maxSequenceLength);
    }
    o.addProperty("vocab_size", vocabSize);
    o.addProperty("rms_norm_eps", rmsNormEps);
    o.addProperty("rope_theta", ropeTheta);
    if (family != ModelFamily.SDAR) { // SDAR's config names no mask id: its tokenizer files do
      o.addProperty("mask_token_id", maskTokenId);
    }
    if (!eosTokenIds.isEmpty()) {
      o.addProperty("eos_token_id", eosTokenIds.get(0));
      o.addProperty("pad_token_id", eosTokenIds.get(0));
    }
    return new GsonBuilder().setPrettyPrinting().create().toJson(o);
  }

  /** Typed reads of a JSON object whose errors name the file and the key. */
  static final class Keys {
    private final JsonObject o;
    final String source;

    Keys(JsonObject o, String source) {
      this.o = o;
      this.source = source;
    }

    boolean has(String key) {
      return o.has(key) && !o.get(key).isJsonNull();
    }

    JsonObject object(String key) {
      if (!has(key)) {
        return new JsonObject();
      }
      if (!o.get(key).isJsonObject()) {
        throw bad(key, "an object");
      }
      return o.getAsJsonObject(key);
    }

    int required(String key) {
      if (!has(key)) {
        throw new ModelLoadException(source + ": missing required key '" + key + "'");
      }
      return integer(key, 0);
    }

    int integer(String key, int def) {
      if (!has(key)) {
        return def;
      }
      double v = number(key, def);
      if (v != Math.rint(v) || Math.abs(v) > Integer.MAX_VALUE) {
        throw bad(key, "an integer");
      }
      return (int) v;
    }

    double number(String key, double def) {
      if (!has(key)) {
        return def;
      }
      JsonElement e = o.get(key);
      if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
        throw bad(key, "a number");
      }
      return e.getAsDouble();
    }

    boolean bool(String key, boolean def) {
      if (!has(key)) {
        return def;
      }
      JsonElement e = o.get(key);
      if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
        throw bad(key, "true or false");
      }
      return e.getAsBoolean();
    }

    String string(String key, String def) {
      if (!has(key)) {
        return def;
      }
      JsonElement e = o.get(key);
      if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
        throw bad(key, "a string");
      }
      return e.getAsString();
    }

    /** An id or a list of ids (eos_token_id is written either way); empty when absent. */
    List<Integer> ids(String key) {
      List<Integer> ids = new ArrayList<>();
      if (!has(key)) {
        return ids;
      }
      JsonElement e = o.get(key);
      JsonArray list = new JsonArray();
      if (e.isJsonArray()) {
        list = e.getAsJsonArray();
      } else {
        list.add(e);
      }
      for (JsonElement x : list) {
        if (!x.isJsonPrimitive() || !x.getAsJsonPrimitive().isNumber() || x.getAsDouble() != Math.rint(x.getAsDouble())) {
          throw bad(key, "a token id or a list of token ids");
        }
        ids.add(x.getAsInt());
      }
      return ids;
    }

    private ModelLoadException bad(String key, String what) {
      return new ModelLoadException(source + ": '" + key + "' must be " + what + ", got " + o.get(key));
    }
  }

  private static void require(boolean ok, String fmt, Object... args) {
    if (!ok) {
      throw new ModelLoadException(String.format(fmt, args));
    }
  }
}
