package dev.freedave.tools;

import dev.freedave.model.CheckpointWriter;
import dev.freedave.model.ModelConfig;
import dev.freedave.model.ModelFamily;
import dev.freedave.model.RandomWeights;
import dev.freedave.model.SafetensorsReader;
import dev.freedave.text.WordLevelTokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Writes a seeded random checkpoint folder in the real format (config.json, safetensors, a
 * word-level tokenizer.json: pad 0, EOS 1, mask 2, unk 3, then words w4, w5, ...; for SDAR, whose
 * config.json names no mask id, a tokenizer_config.json naming the mask and EOS tokens), for smoke
 * runs and comparisons with another implementation.
 */
@Command(name = "tiny-model", mixinStandardHelpOptions = true,
    description = "Write a seeded random checkpoint folder (LLaDA, Dream or SDAR naming)")
final class TinyModelCommand implements Callable<Integer> {
  @Option(names = "--out", required = true) Path out;

  @Option(names = "--family", defaultValue = "llada", description = "llada, dream or sdar") String family;

  @Option(names = "--tied", description = "tie the LM head to the embedding") boolean tied;

  @Option(names = "--dtype", defaultValue = "F32", description = "F32 or BF16 storage") SafetensorsReader.DType dtype;

  @Option(names = "--shards", defaultValue = "1") int shards;

  @Option(names = "--seed", defaultValue = "0") long seed;

  @Option(names = "--vocab", defaultValue = "64") int vocab;

  @Option(names = "--hidden", defaultValue = "32") int hidden;

  @Option(names = "--layers", defaultValue = "2") int layers;

  @Option(names = "--heads", defaultValue = "4") int heads;

  @Option(names = "--kv-heads", description = "default: --heads (LLaDA) or --heads / 2 (Dream)") Integer kvHeads;

  @Option(names = "--ffn", defaultValue = "64") int ffn;

  @Override
  public Integer call() throws Exception {
    ModelFamily fam = ModelFamily.fromLabel(family);
    int kv = kvHeads != null ? kvHeads : fam == ModelFamily.LLADA ? heads : Math.max(1, heads / 2);
    ModelConfig config = new ModelConfig(fam, vocab, hidden, layers, heads, kv, hidden / heads, ffn, 1e-5,
        fam == ModelFamily.LLADA ? 500000 : 1000000, fam == ModelFamily.DREAM, tied, 512, 2, List.of(1));
    CheckpointWriter.write(out, config, RandomWeights.of(config, seed), dtype, shards);
    List<String> words = new ArrayList<>(List.of("<pad>", "<eos>", "<mask>", "<unk>"));
    while (words.size() < vocab) {
      words.add("w" + words.size());
    }
    Files.writeString(out.resolve("tokenizer.json"),
        WordLevelTokenizer.json(words, 4, "<unk>", WordLevelTokenizer.preTokenizer("Whitespace")), StandardCharsets.UTF_8);
    if (fam == ModelFamily.SDAR) {
      Files.writeString(out.resolve("tokenizer_config.json"), "{\"mask_token\": \"<mask>\", \"eos_token\": \"<eos>\"}\n",
          StandardCharsets.UTF_8);
    }
    System.out.println("wrote " + config + " to " + out);
    return 0;
  }
}
