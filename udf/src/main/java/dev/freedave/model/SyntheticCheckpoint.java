package dev.freedave.model;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A checkpoint of real-model shapes filled with cheap pseudo-random BF16 values, streamed to disk
 * shard by shard: what the load benchmark measures on, at sizes no test could commit or hold.
 */
public final class SyntheticCheckpoint {
  private SyntheticCheckpoint() {}

  /** LLaDA-8B's layer shapes and vocabulary (models.md §1.1) with {@code layers} blocks. */
  public static ModelConfig lladaShapes(int layers) {
    return new ModelConfig(ModelConfig.Family.LLADA, 126464, 4096, layers, 32, 32, 128, 12288, 1e-5, 500000, false,
        false, 4096, 126336, List.of(126081), 0);
  }

  /**
   * Writes config.json, the shards (tensors packed in order until a shard passes {@code shardBytes})
   * and model.safetensors.index.json.
   *
   * @return total tensor bytes
   */
  public static long write(Path dir, ModelConfig config, long shardBytes) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("config.json"), TinyModels.configJson(config), StandardCharsets.UTF_8);
    List<Map<String, long[]>> shards = new ArrayList<>();
    Map<String, long[]> current = new LinkedHashMap<>();
    long currentBytes = 0;
    long total = 0;
    for (Map.Entry<String, long[]> e : new WeightNames(config).expected().entrySet()) {
      long bytes = 2;
      for (long d : e.getValue()) {
        bytes *= d;
      }
      current.put(e.getKey(), e.getValue());
      currentBytes += bytes;
      total += bytes;
      if (currentBytes >= shardBytes) {
        shards.add(current);
        current = new LinkedHashMap<>();
        currentBytes = 0;
      }
    }
    if (!current.isEmpty()) {
      shards.add(current);
    }
    JsonObject weightMap = new JsonObject();
    for (int k = 0; k < shards.size(); k++) {
      String name = SafetensorsWriter.shardName(k, shards.size());
      long[] state = {0x9E3779B97F4A7C15L};
      SafetensorsWriter.write(dir.resolve(name), shards.get(k), SafetensorsReader.DType.BF16, (tensor, off, n) -> {
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
      for (String t : shards.get(k).keySet()) {
        weightMap.addProperty(t, name);
      }
    }
    SafetensorsWriter.writeIndex(dir, weightMap, total);
    return total;
  }
}
