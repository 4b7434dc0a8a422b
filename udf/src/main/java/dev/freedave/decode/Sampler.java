package dev.freedave.decode;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.freedave.model.ModelSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * predict(): logits of each sequence's block → the token at every position and its confidence.
 * Greedy rows are reduced on the device, so only [N, W] tokens and confidences cross to the host;
 * rows with a temperature sample on the host with noise keyed by their state.
 */
final class Sampler {
  private Sampler() {}

  /**
   * x0 = argmax, conf = max softmax probability, over the vocabulary without the mask id.
   *
   * @param logits float32 [N, W, V]: row i holds the window of {@code rows.get(i)}
   * @param rows the sequence of each logits row; null for a row nobody reads (its prediction is null)
   */
  static List<Prediction> predict(ModelSpec spec, NDArray logits, List<Sequence> rows) {
    int w = (int) logits.getShape().get(1);
    int vocab = (int) logits.getShape().get(2);
    // the mask id is never a prediction: committing it would leave the position masked forever.
    // Added as a bias, not written in place: a forward's logits may be read-only (inference tensors).
    NDArray noMask = logits.getManager().zeros(new Shape(vocab));
    noMask.set(new NDIndex("{}", spec.maskTokenId()), Float.NEGATIVE_INFINITY);
    NDArray masked = logits.add(noMask);
    NDArray max = masked.max(new int[] {-1}, true); // [N,W,1]
    int[] argmax = masked.argMax(-1).toType(DataType.INT32, false).toIntArray();
    float[] sumExp = masked.sub(max).exp().sum(new int[] {-1}).toFloatArray();
    List<Prediction> preds = new ArrayList<>(rows.size());
    for (int r = 0; r < rows.size(); r++) {
      Sequence s = rows.get(r);
      if (s == null) {
        preds.add(null);
        continue;
      }
      int[] x0 = new int[s.windowLength()];
      float[] conf = new float[s.windowLength()];
      for (int j = 0; j < s.windowLength(); j++) {
        x0[j] = argmax[r * w + j];
        conf[j] = 1f / sumExp[r * w + j]; // exp(max - max) / Σ exp(l - max)
      }
      if (s.temperature() > 0) {
        sample(s, masked.get(r).toFloatArray(), vocab, x0, conf); // the mask column is -inf here too
      }
      preds.add(new Prediction(s.windowStart(), x0, conf));
    }
    return preds;
  }

  /**
   * Gumbel-max in float64 on logits / T with noise drawn from (seed, absolute position, tokens
   * decoded so far): any decoder that reaches the same state draws the same noise, which keeps
   * FreeDave exact under sampling. Confidence stays the softmax of the raw logits at the sample.
   */
  private static void sample(Sequence s, float[] rows, int vocab, int[] x0, float[] conf) {
    for (int j = 0; j < x0.length; j++) {
      int absPos = s.promptLength() + s.windowStart() + j;
      SplittableRandom rnd = new SplittableRandom(mix(s.seed(), absPos, s.decodedCount()));
      int base = j * vocab;
      double best = Double.NEGATIVE_INFINITY;
      int arg = 0;
      float max = Float.NEGATIVE_INFINITY;
      for (int v = 0; v < vocab; v++) {
        double u = rnd.nextDouble();
        double g = -Math.log(-Math.log(u == 0 ? Double.MIN_VALUE : u));
        double score = rows[base + v] / s.temperature() + g;
        if (score > best) {
          best = score;
          arg = v;
        }
        max = Math.max(max, rows[base + v]);
      }
      double sum = 0;
      for (int v = 0; v < vocab; v++) {
        sum += Math.exp(rows[base + v] - max);
      }
      x0[j] = arg;
      conf[j] = (float) (Math.exp(rows[base + arg] - max) / sum);
    }
  }

  private static long mix(long seed, int pos, int decoded) {
    long h = seed * 0x9E3779B97F4A7C15L + pos;
    h = (h ^ (h >>> 31)) * 0xBF58476D1CE4E5B9L + decoded;
    return h ^ (h >>> 29);
  }
}
