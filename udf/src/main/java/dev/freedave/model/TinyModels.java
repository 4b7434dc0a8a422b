package dev.freedave.model;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.freedave.text.ByteLevelBpeJson;
import dev.freedave.text.TokenizerJson;
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
    return write(dir, s, maskId, List.of(eosId), Map.of("tokenizer.json", tokenizer), List.of(), 1);
  }

  /**
   * A tiny model with the special ids and tokenizer files of a real checkpoint family: LLaDA-8B's
   * vocabulary size, mask/EOS/EOT ids and chat header tokens in a byte-level BPE tokenizer.json, or
   * Dream-7B's in vocab.json + merges.txt + tokenizer_config.json (no tokenizer.json, as Dream ships).
   * The end tokens' LM-head rows are scaled by {@code endBoost} so that random weights emit them now
   * and then, which exercises end-of-answer handling (1 = plain random weights).
   */
  public static Path writeLike(Path dir, RealFamily f, long seed, float endBoost) throws IOException {
    Spec s = new Spec(f.family, f.vocabSize, 16, 2, 2, f.family == ModelConfig.Family.QWEN2 ? 1 : 2, 32,
        SafetensorsReader.DType.BF16, 1, seed);
    Map<String, String> files = new LinkedHashMap<>();
    List<TokenizerJson.AddedToken> added = new ArrayList<>();
    for (Map.Entry<String, Integer> e : f.addedTokens.entrySet()) {
      added.add(new TokenizerJson.AddedToken(e.getValue(), e.getKey(), true));
    }
    ByteLevelBpeJson.Bpe bpe = ByteLevelBpeJson.wordBpe(SMALL_WORDS, f.firstAddedId);
    if (f == RealFamily.DREAM_7B) {
      files.put("vocab.json", new GsonBuilder().disableHtmlEscaping().create().toJson(bpe.vocab()));
      files.put("merges.txt", "#version: 0.2\n" + String.join("\n", bpe.merges()) + "\n");
      files.put("tokenizer_config.json", ByteLevelBpeJson.tokenizerConfig(added));
    } else {
      files.put("tokenizer.json", ByteLevelBpeJson.build(bpe.vocab(), bpe.merges(), added));
    }
    return write(dir, s, f.maskId, f.endIds, files, f.endIds, endBoost);
  }

  /** Real checkpoint families whose ids {@link #writeLike} copies (models.md §1, §2, §5). */
  public enum RealFamily {
    LLADA_8B(ModelConfig.Family.LLADA, 126464, 126336, List.of(126081, 126348), 126080, orderedMap(
        "<|startoftext|>", 126080, "<|endoftext|>", 126081, "<|mdm_mask|>", 126336, "<|start_header_id|>", 126346,
        "<|end_header_id|>", 126347, "<|eot_id|>", 126348)),
    DREAM_7B(ModelConfig.Family.QWEN2, 152064, 151666, List.of(151643, 151645), 151643, orderedMap(
        "<|endoftext|>", 151643, "<|im_start|>", 151644, "<|im_end|>", 151645, "<|beginoftext|>", 151665,
        "<|mask|>", 151666));

    final ModelConfig.Family family;
    final int vocabSize;
    final int maskId;
    /** config.json's eos first, then the end-of-turn token */
    final List<Integer> endIds;
    final int firstAddedId;
    final Map<String, Integer> addedTokens;

    RealFamily(ModelConfig.Family family, int vocabSize, int maskId, List<Integer> endIds, int firstAddedId,
        Map<String, Integer> addedTokens) {
      this.family = family;
      this.vocabSize = vocabSize;
      this.maskId = maskId;
      this.endIds = endIds;
      this.firstAddedId = firstAddedId;
      this.addedTokens = addedTokens;
    }
  }

  private static Map<String, Integer> orderedMap(Object... kv) {
    Map<String, Integer> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], (Integer) kv[i + 1]);
    }
    return m;
  }

  private static final List<String> SMALL_WORDS = List.of("the", "and", "what", "is", "answer", "number", "sum",
      "hello", "world", "so", "it", "of", "to");

  /**
   * @param files tokenizer files, name to content
   * @param boostedRows LM-head rows scaled by {@code boost}
   */
  static Path write(Path dir, Spec s, int maskId, List<Integer> eosIds, Map<String, String> files,
      List<Integer> boostedRows, float boost) throws IOException {
    Files.createDirectories(dir);
    ModelConfig config = new ModelConfig(s.family(), s.vocab(), s.hidden(), s.layers(), s.heads(), s.kvHeads(),
        s.hidden() / s.heads(), s.ffn(), 1e-5, s.family() == ModelConfig.Family.LLADA ? 500000 : 1000000,
        s.family() == ModelConfig.Family.QWEN2, false, 512, maskId, eosIds,
        s.family() == ModelConfig.Family.LLADA ? 0 : 1);
    Files.writeString(dir.resolve("config.json"), configJson(config), StandardCharsets.UTF_8);
    for (Map.Entry<String, String> f : files.entrySet()) {
      Files.writeString(dir.resolve(f.getKey()), f.getValue(), StandardCharsets.UTF_8);
    }

    Random rnd = new Random(s.seed());
    Map<String, SafetensorsWriter.Tensor> all = new LinkedHashMap<>();
    WeightNames names = new WeightNames(config);
    for (Map.Entry<String, long[]> e : names.expected().entrySet()) {
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
      if (e.getKey().equals(names.embedding())) {
        for (int i = 0; i < n; i++) {
          data[i] *= (float) Math.sqrt(shape[1]); // unit-variance embeddings
        }
      }
      if (e.getKey().equals(names.head())) {
        int d = (int) shape[1];
        for (int row : boostedRows) {
          for (int j = 0; j < d; j++) {
            data[row * d + j] *= boost;
          }
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
      weightMap.addProperty(e.getKey(), SafetensorsWriter.shardName(shard, s.shards()));
      total += (long) e.getValue().data().length * s.dtype().bytes;
    }
    for (int k = 0; k < s.shards(); k++) {
      SafetensorsWriter.write(dir.resolve(SafetensorsWriter.shardName(k, s.shards())), shards.get(k), s.dtype());
    }
    SafetensorsWriter.writeIndex(dir, weightMap, total);
    return dir;
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
