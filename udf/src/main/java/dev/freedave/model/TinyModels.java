package dev.freedave.model;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.freedave.text.WordLevelTokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Writes seeded random checkpoints in the exact folder format of real ones (config.json,
 * safetensors — single or sharded with an index — and a word-level tokenizer.json), in either
 * naming scheme and in F32 or BF16. Tests, the bench and users' smoke runs use them.
 */
public final class TinyModels {
  /** Special ids every tiny tokenizer shares. */
  public static final int PAD = 0;
  public static final int EOS = 1;
  public static final int MASK = 2;
  public static final int UNK = 3;

  /** Sizes and format of one tiny model. */
  public record Spec(ModelConfig.Family family, int vocab, int hidden, int layers, int heads, int kvHeads, int ffn,
      SafetensorsReader.DType dtype, int shards, long seed) {

    public static Spec llada(long seed) {
      return new Spec(ModelConfig.Family.LLADA, 64, 32, 2, 4, 4, 64, SafetensorsReader.DType.F32, 1, seed);
    }

    public static Spec qwen2(long seed) {
      return new Spec(ModelConfig.Family.QWEN2, 64, 48, 2, 6, 2, 96, SafetensorsReader.DType.F32, 1, seed);
    }

    public Spec withDtype(SafetensorsReader.DType d) {
      return new Spec(family, vocab, hidden, layers, heads, kvHeads, ffn, d, shards, seed);
    }

    public Spec withShards(int n) {
      return new Spec(family, vocab, hidden, layers, heads, kvHeads, ffn, dtype, n, seed);
    }

    public Spec withSize(int vocab, int hidden, int layers, int heads, int kvHeads, int ffn) {
      return new Spec(family, vocab, hidden, layers, heads, kvHeads, ffn, dtype, shards, seed);
    }
  }

  private TinyModels() {}

  public static Path write(Path dir, Spec s) throws IOException {
    return write(dir, s, MASK, EOS, tokenizerJson(s.vocab()));
  }

  /** A random checkpoint for a given tokenizer (its mask and end ids), e.g. a trainer's starting point. */
  public static Path write(Path dir, Spec s, int maskId, int eosId, String tokenizer) throws IOException {
    Files.createDirectories(dir);
    ModelConfig config = new ModelConfig(s.family(), s.vocab(), s.hidden(), s.layers(), s.heads(), s.kvHeads(),
        s.hidden() / s.heads(), s.ffn(), 1e-5, s.family() == ModelConfig.Family.LLADA ? 500000 : 1000000,
        s.family() == ModelConfig.Family.QWEN2, false, 512, maskId, List.of(eosId),
        s.family() == ModelConfig.Family.LLADA ? 0 : 1);
    Files.writeString(dir.resolve("config.json"), configJson(config), StandardCharsets.UTF_8);
    Files.writeString(dir.resolve("tokenizer.json"), tokenizer, StandardCharsets.UTF_8);

    Random rnd = new Random(s.seed());
    Map<String, SafetensorsWriter.Tensor> all = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : new WeightNames(config).expected().entrySet()) {
      long[] shape = e.getValue();
      int n = 1;
      for (long d : shape) {
        n *= (int) d;
      }
      float[] data = new float[n];
      boolean norm = shape.length == 1 && !e.getKey().endsWith(".bias");
      // fan-in scaling keeps activations O(1) so that logits are peaked but not saturated
      double std = shape.length == 2 ? 1.0 / Math.sqrt(shape[1]) : 0.3;
      for (int i = 0; i < n; i++) {
        data[i] = (float) (norm ? 1.0 + 0.2 * rnd.nextGaussian() : std * rnd.nextGaussian());
      }
      if (e.getKey().equals(new WeightNames(config).embedding())) {
        for (int i = 0; i < n; i++) {
          data[i] *= (float) Math.sqrt(shape[1]); // unit-variance embeddings
        }
      }
      all.put(e.getKey(), new SafetensorsWriter.Tensor(shape, data));
    }
    if (s.shards() <= 1) {
      SafetensorsWriter.write(dir.resolve("model.safetensors"), all, s.dtype());
      return dir;
    }
    List<Map<String, SafetensorsWriter.Tensor>> shards = new ArrayList<>();
    for (int i = 0; i < s.shards(); i++) {
      shards.add(new LinkedHashMap<>());
    }
    JsonObject weightMap = new JsonObject();
    int i = 0;
    long total = 0;
    for (Map.Entry<String, SafetensorsWriter.Tensor> e : all.entrySet()) {
      int shard = i++ % s.shards(); // interleaved, like LLaDA's by-type split: never assume contiguous layers
      shards.get(shard).put(e.getKey(), e.getValue());
      weightMap.addProperty(e.getKey(), shardName(shard, s.shards()));
      total += (long) e.getValue().data().length * s.dtype().bytes;
    }
    for (int k = 0; k < s.shards(); k++) {
      SafetensorsWriter.write(dir.resolve(shardName(k, s.shards())), shards.get(k), s.dtype());
    }
    JsonObject index = new JsonObject();
    JsonObject meta = new JsonObject();
    meta.addProperty("total_size", total);
    index.add("metadata", meta);
    index.add("weight_map", weightMap);
    Files.writeString(dir.resolve("model.safetensors.index.json"),
        new GsonBuilder().setPrettyPrinting().create().toJson(index), StandardCharsets.UTF_8);
    return dir;
  }

  private static String shardName(int k, int n) {
    return String.format("model-%05d-of-%05d.safetensors", k + 1, n);
  }

  static String configJson(ModelConfig c) {
    JsonObject o = new JsonObject();
    if (c.family() == ModelConfig.Family.LLADA) {
      o.addProperty("model_type", "llada");
      o.addProperty("d_model", c.hiddenSize());
      o.addProperty("n_layers", c.numLayers());
      o.addProperty("n_heads", c.numHeads());
      o.addProperty("n_kv_heads", c.numKvHeads());
      o.addProperty("mlp_hidden_size", c.intermediateSize());
      o.addProperty("activation_type", "silu");
      o.addProperty("block_type", "llama");
      o.addProperty("layer_norm_type", "rms");
      o.addProperty("include_qkv_bias", false);
      o.addProperty("weight_tying", false);
      o.addProperty("embedding_size", c.vocabSize());
      o.addProperty("max_sequence_length", c.maxSequenceLength());
    } else {
      o.addProperty("model_type", "Dream");
      o.addProperty("hidden_size", c.hiddenSize());
      o.addProperty("num_hidden_layers", c.numLayers());
      o.addProperty("num_attention_heads", c.numHeads());
      o.addProperty("num_key_value_heads", c.numKvHeads());
      o.addProperty("intermediate_size", c.intermediateSize());
      o.addProperty("hidden_act", "silu");
      o.addProperty("tie_word_embeddings", false);
      o.addProperty("max_position_embeddings", c.maxSequenceLength());
    }
    o.addProperty("vocab_size", c.vocabSize());
    o.addProperty("rms_norm_eps", c.rmsNormEps());
    o.addProperty("rope_theta", c.ropeTheta());
    o.addProperty("mask_token_id", c.maskTokenId());
    o.addProperty("eos_token_id", c.eosTokenIds().get(0));
    o.addProperty("pad_token_id", c.eosTokenIds().get(0));
    return new GsonBuilder().setPrettyPrinting().create().toJson(o);
  }

  /** A word-level tokenizer.json whose every id is a token: specials, digits, a few words, fillers. */
  static String tokenizerJson(int vocab) {
    List<String> words = new ArrayList<>(List.of("<pad>", "<eos>", "<mask>", "<unk>"));
    for (int d = 0; d <= 9; d++) {
      words.add(Integer.toString(d));
    }
    words.addAll(List.of("+", "-", "*", "=", "?", ".", "what", "is", "the", "answer", "a", "b", "and", "of", "to",
        "sum", "number", "then", "so", "it"));
    while (words.size() < vocab) {
      words.add("w" + words.size());
    }
    return WordLevelTokenizer.json(words.subList(0, vocab), UNK + 1, "<unk>",
        WordLevelTokenizer.preTokenizer("Whitespace"));
  }
}
