package dev.freedave.job;

import dev.freedave.model.ModelConfig;
import dev.freedave.model.SafetensorsReader;
import dev.freedave.model.TinyModels;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Writes a seeded random checkpoint folder in the real format, for smoke runs and comparisons. */
@Command(name = "tiny-model", description = "Write a seeded random checkpoint folder (LLaDA or Dream naming)")
final class TinyModelCommand implements Callable<Integer> {
  @Option(names = "--out", required = true) Path out;

  @Option(names = "--family", defaultValue = "llada", description = "llada or dream") String family;

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
    ModelConfig.Family fam = switch (family.toLowerCase()) {
      case "llada" -> ModelConfig.Family.LLADA;
      case "dream", "qwen2" -> ModelConfig.Family.QWEN2;
      default -> throw new IllegalArgumentException("--family must be llada or dream, got " + family);
    };
    int kv = kvHeads != null ? kvHeads : fam == ModelConfig.Family.LLADA ? heads : Math.max(1, heads / 2);
    TinyModels.Spec spec = new TinyModels.Spec(fam, vocab, hidden, layers, heads, kv, ffn, dtype, shards, seed);
    TinyModels.write(out, spec);
    System.out.println("wrote " + spec + " to " + out);
    return 0;
  }
}
