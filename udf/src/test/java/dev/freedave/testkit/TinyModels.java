package dev.freedave.testkit;

import ai.djl.Device;
import com.google.gson.GsonBuilder;
import dev.freedave.model.CheckpointWriter;
import dev.freedave.model.ComputeDtype;
import dev.freedave.model.DiffusionLM;
import dev.freedave.model.ModelConfig;
import dev.freedave.model.ModelFamily;
import dev.freedave.model.ModelFolder;
import dev.freedave.model.RandomWeights;
import dev.freedave.model.SafetensorsReader;
import dev.freedave.model.SafetensorsWriter;
import dev.freedave.model.WeightNames;
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

/**
 * Seeded random checkpoints in the exact folder format of real ones (config.json, safetensors —
 * single or sharded with an index — and tokenizer files), in either family's naming and in F32 or
 * BF16: what the tests decode with.
 */
public final class TinyModels {
  /** Special ids every tiny word-level tokenizer shares. */
  public static final int PAD = 0;
  public static final int EOS = 1;
  public static final int MASK = 2;
  public static final int UNK = 3;

  /** Sizes and format of one tiny model. */
  public record Spec(ModelFamily family, int vocab, int hidden, int layers, int heads, int kvHeads, int ffn,
      SafetensorsReader.DType dtype, int shards, long seed, boolean tied) {

    public static Spec llada(long seed) {
      return new Spec(ModelFamily.LLADA, 64, 32, 2, 4, 4, 64, SafetensorsReader.DType.F32, 1, seed, false);
    }

    public static Spec qwen2(long seed) {
      return new Spec(ModelFamily.DREAM, 64, 48, 2, 6, 2, 96, SafetensorsReader.DType.F32, 1, seed, false);
    }

    /** SDAR's shapes in small: GQA (4 query heads over 2), q/k norms, no biases. */
    public static Spec sdar(long seed) {
      return new Spec(ModelFamily.SDAR, 64, 32, 2, 4, 2, 64, SafetensorsReader.DType.F32, 1, seed, false);
    }

    public Spec withDtype(SafetensorsReader.DType d) {
      return new Spec(family, vocab, hidden, layers, heads, kvHeads, ffn, d, shards, seed, tied);
    }

    public Spec withShards(int n) {
      return new Spec(family, vocab, hidden, layers, heads, kvHeads, ffn, dtype, n, seed, tied);
    }

    public Spec withSize(int vocab, int hidden, int layers, int heads, int kvHeads, int ffn) {
      return new Spec(family, vocab, hidden, layers, heads, kvHeads, ffn, dtype, shards, seed, tied);
    }

    /** The LM head tied to the embedding. */
    public Spec withTiedHead() {
      return new Spec(family, vocab, hidden, layers, heads, kvHeads, ffn, dtype, shards, seed, true);
    }

    ModelConfig config(int maskId, List<Integer> eosIds) {
      return new ModelConfig(family, vocab, hidden, layers, heads, kvHeads, hidden / heads, ffn, 1e-5,
          family == ModelFamily.LLADA ? 500000 : 1000000, family == ModelFamily.DREAM, tied, 512, maskId, eosIds);
    }
  }

  private TinyModels() {}

  /** A folder's model (no tokenizer needed), float32 on the CPU. */
  public static DiffusionLM load(Path dir) throws IOException {
    return ModelFolder.open(dir).loadModel(ComputeDtype.FLOAT32, Device.cpu());
  }

  /**
   * A tiny model with the word-level tokenizer of {@link #tokenizerJson}: pad 0, EOS 1, mask 2. An
   * SDAR folder names its mask and EOS in tokenizer_config.json, as SDAR's config.json names neither.
   */
  public static Path write(Path dir, Spec s) throws IOException {
    Map<String, String> files = new LinkedHashMap<>();
    files.put("tokenizer.json", tokenizerJson(s.vocab()));
    if (s.family() == ModelFamily.SDAR) {
      files.put("tokenizer_config.json", "{\"mask_token\": \"<mask>\", \"eos_token\": \"<eos>\"}");
    }
    return write(dir, s, MASK, List.of(EOS), files, List.of(), 1);
  }

  /**
   * A tiny model with the special ids and tokenizer files of a real checkpoint family: LLaDA-8B's
   * vocabulary size, mask/EOS/EOT ids and chat header tokens in a byte-level BPE tokenizer.json;
   * Dream-7B's in vocab.json + merges.txt + tokenizer_config.json (no tokenizer.json, as Dream ships);
   * SDAR-8B-Chat's (Qwen3's vocabulary and specials, and the added {@code <|MASK|>}) in tokenizer.json,
   * with tokenizer_config.json and special_tokens_map.json naming the mask and EOS tokens, since its
   * config.json names neither.
   * The end tokens' LM-head rows are scaled by {@code endBoost} so that random weights emit them now
   * and then, which exercises end-of-answer handling (1 = plain random weights).
   */
  public static Path writeLike(Path dir, RealFamily f, long seed, float endBoost) throws IOException {
    Spec s = new Spec(f.family, f.vocabSize, 16, 2, 2, f.family == ModelFamily.LLADA ? 2 : 1, 32,
        SafetensorsReader.DType.BF16, 1, seed, false);
    Map<String, String> files = new LinkedHashMap<>();
    List<TokenizerJson.AddedToken> added = new ArrayList<>();
    for (Map.Entry<String, Integer> e : f.addedTokens.entrySet()) {
      added.add(new TokenizerJson.AddedToken(e.getValue(), e.getKey(), true));
    }
    TokenizerFixtures.Bpe bpe = TokenizerFixtures.wordBpe(SMALL_WORDS, f.firstAddedId);
    if (f == RealFamily.DREAM_7B) {
      files.put("vocab.json", new GsonBuilder().disableHtmlEscaping().create().toJson(bpe.vocab()));
      files.put("merges.txt", "#version: 0.2\n" + String.join("\n", bpe.merges()) + "\n");
      files.put("tokenizer_config.json", TokenizerFixtures.tokenizerConfig(added, Map.of()));
    } else {
      files.put("tokenizer.json", ByteLevelBpeJson.build(bpe.vocab(), bpe.merges(), added));
    }
    if (f == RealFamily.SDAR_8B) {
      Map<String, String> roles = orderedRoles("eos_token", "<|im_end|>", "pad_token", "<|endoftext|>", "mask_token",
          "<|MASK|>");
      files.put("tokenizer_config.json", TokenizerFixtures.tokenizerConfig(added, roles));
      files.put("special_tokens_map.json", TokenizerFixtures.specialTokensMap(roles));
    }
    return write(dir, s, f.family.defaultMaskId, f.endIds, files, f.endIds, endBoost);
  }

  /** Real checkpoint families whose ids {@link #writeLike} copies (docs/checkpoints.md). */
  public enum RealFamily {
    LLADA_8B(ModelFamily.LLADA, 126464, List.of(126081, 126348), 126080, orderedMap(
        "<|startoftext|>", 126080, "<|endoftext|>", 126081, "<|mdm_mask|>", 126336, "<|start_header_id|>", 126346,
        "<|end_header_id|>", 126347, "<|eot_id|>", 126348)),
    DREAM_7B(ModelFamily.DREAM, 152064, List.of(151643, 151645), 151643, orderedMap(
        "<|endoftext|>", 151643, "<|im_start|>", 151644, "<|im_end|>", 151645, "<|beginoftext|>", 151665,
        "<|mask|>", 151666)),
    SDAR_8B(ModelFamily.SDAR, 151936, List.of(151643, 151645), 151643, orderedMap(
        "<|endoftext|>", 151643, "<|im_start|>", 151644, "<|im_end|>", 151645, "<|MASK|>", 151669));

    public final ModelFamily family;
    final int vocabSize;
    /** config.json's eos first, then the end-of-turn token */
    final List<Integer> endIds;
    final int firstAddedId;
    final Map<String, Integer> addedTokens;

    RealFamily(ModelFamily family, int vocabSize, List<Integer> endIds, int firstAddedId,
        Map<String, Integer> addedTokens) {
      this.family = family;
      this.vocabSize = vocabSize;
      this.endIds = endIds;
      this.firstAddedId = firstAddedId;
      this.addedTokens = addedTokens;
    }
  }

  private static Map<String, String> orderedRoles(String... kv) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return m;
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
  private static Path write(Path dir, Spec s, int maskId, List<Integer> eosIds, Map<String, String> files,
      List<Integer> boostedRows, float boost) throws IOException {
    ModelConfig config = s.config(maskId, eosIds);
    Map<String, SafetensorsWriter.Tensor> weights = RandomWeights.of(config, s.seed());
    float[] head = weights.get(new WeightNames(config).head()).data();
    for (int row : boostedRows) {
      for (int j = 0; j < s.hidden(); j++) {
        head[row * s.hidden() + j] *= boost;
      }
    }
    CheckpointWriter.write(dir, config, weights, s.dtype(), s.shards());
    for (Map.Entry<String, String> f : files.entrySet()) {
      Files.writeString(dir.resolve(f.getKey()), f.getValue(), StandardCharsets.UTF_8);
    }
    return dir;
  }

  /** A word-level tokenizer.json whose every id is a token: specials, digits, a few words, fillers. */
  public static String tokenizerJson(int vocab) {
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

  /** Rewrites a single-file folder's model.safetensors as F32, tensor {@code name}'s values through {@code f}. */
  public static void editTensor(Path dir, String name, java.util.function.Consumer<float[]> f) throws IOException {
    Map<String, SafetensorsWriter.Tensor> tensors = new LinkedHashMap<>();
    try (SafetensorsReader r = SafetensorsReader.open(dir.resolve("model.safetensors"))) {
      for (SafetensorsReader.TensorInfo t : r.tensors().values()) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate((int) t.elements() * 4)
            .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        r.readFloats(t, 0, (int) t.elements(), b);
        float[] v = new float[(int) t.elements()];
        b.flip().asFloatBuffer().get(v);
        if (t.name().equals(name)) {
          f.accept(v);
        }
        tensors.put(t.name(), new SafetensorsWriter.Tensor(t.shape(), v));
      }
    }
    SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, SafetensorsReader.DType.F32);
  }
}
