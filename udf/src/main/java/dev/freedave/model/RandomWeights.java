package dev.freedave.model;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Seeded random weights for a config, the starting point of a training run and of the small
 * checkpoints smoke tests decode with: fan-in scaled matrices (activations stay O(1), so logits are
 * peaked but not saturated), unit-variance embeddings, norm weights near 1.
 */
public final class RandomWeights {
  private RandomWeights() {}

  public static Map<String, SafetensorsWriter.Tensor> of(ModelConfig config, long seed) {
    Random rnd = new Random(seed);
    WeightNames names = new WeightNames(config);
    Map<String, SafetensorsWriter.Tensor> out = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : names.expected().entrySet()) {
      long[] shape = e.getValue();
      float[] data = new float[Math.toIntExact(SafetensorsWriter.elements(shape))];
      boolean norm = shape.length == 1 && !e.getKey().endsWith(".bias");
      double std = shape.length == 2 ? 1.0 / Math.sqrt(shape[1]) : 0.3;
      for (int i = 0; i < data.length; i++) {
        data[i] = (float) (norm ? 1.0 + 0.2 * rnd.nextGaussian() : std * rnd.nextGaussian());
      }
      if (e.getKey().equals(names.embedding())) {
        for (int i = 0; i < data.length; i++) {
          data[i] *= (float) Math.sqrt(shape[1]); // unit variance
        }
      }
      out.put(e.getKey(), new SafetensorsWriter.Tensor(shape, data));
    }
    return out;
  }
}
