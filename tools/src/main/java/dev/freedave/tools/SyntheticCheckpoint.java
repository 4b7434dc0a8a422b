package dev.freedave.tools;

import dev.freedave.model.CheckpointWriter;
import dev.freedave.model.ModelConfig;
import dev.freedave.model.ModelFamily;
import dev.freedave.model.SafetensorsReader;
import dev.freedave.model.WeightNames;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * A checkpoint of real-model shapes filled with cheap pseudo-random BF16 values, streamed to disk
 * shard by shard: what the load benchmark measures on, at sizes no test could commit or hold.
 */
final class SyntheticCheckpoint {
  private SyntheticCheckpoint() {}

  /** LLaDA-8B's layer shapes and vocabulary (docs/checkpoints.md) with {@code layers} blocks. */
  static ModelConfig lladaShapes(int layers) {
    ModelFamily f = ModelFamily.LLADA;
    return new ModelConfig(f, 126464, 4096, layers, 32, 32, 128, 12288, 1e-5, 500000, false, false,
        f.defaultMaxSequenceLength, f.defaultMaskId, f.defaultEosIds);
  }

  /**
   * Writes config.json, the shards (tensors packed in order until a shard passes {@code shardBytes})
   * and model.safetensors.index.json.
   *
   * @return total tensor bytes
   */
  static long write(Path dir, ModelConfig config, long shardBytes) throws IOException {
    Map<String, long[]> shapes = new WeightNames(config).expected();
    long[] state = {0x9E3779B97F4A7C15L};
    CheckpointWriter.writeStreamed(dir, config, shapes, SafetensorsReader.DType.BF16, shardBytes, (tensor, off, n) -> {
      float[] v = new float[n];
      long x = state[0];
      for (int i = 0; i < n; i++) { // xorshift: uniform in [-0.05, 0.05), no NaN or inf in BF16
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        v[i] = ((x >>> 40) / (float) (1L << 24) - 0.5f) * 0.1f;
      }
      state[0] = x;
      return v;
    });
    long total = 0;
    for (long[] s : shapes.values()) {
      long n = 2;
      for (long d : s) {
        n *= d;
      }
      total += n;
    }
    return total;
  }
}
