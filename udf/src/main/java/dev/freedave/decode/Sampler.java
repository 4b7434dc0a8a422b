package dev.freedave.decode;

import ai.djl.ndarray.NDArray;
import dev.freedave.model.DiffusionLM;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * predict(): logits of each sequence's block → the token at every position and its confidence.
 * Greedy picks are reduced on the device ({@link DiffusionLM#greedy}), so only they cross to the
 * host; rows with a temperature sample on the host with noise keyed by their state.
 */
final class Sampler {
  private Sampler() {}

  /**
   * x0 = argmax, conf = max softmax probability, over the vocabulary without the mask id (committing
   * it would leave the position masked forever).
   *
   * @param logits float32 [.., V], the windows of {@code rows} back to back, w positions each
   * @param rows the sequence of each window; null for a window nobody reads (its prediction is null)
   */
  static List<Prediction> predict(DiffusionLM model, NDArray logits, int w, List<Sequence> rows) {
    int mask = model.spec().maskTokenId();
    DiffusionLM.Picks picks = model.greedy(logits, mask);
    int vocab = (int) logits.getShape().get(logits.getShape().dimension() - 1);
    NDArray windows = null; // [N, w, V], for rows that sample
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
        x0[j] = picks.tokens()[r * w + j];
        conf[j] = 1f / picks.expSums()[r * w + j]; // exp(max - max) / Σ exp(l - max)
      }
      if (s.temperature() > 0) {
        windows = windows != null ? windows : logits.reshape(rows.size(), w, vocab);
        float[] window = windows.get(r).toFloatArray();
        for (int j = 0; j < w; j++) {
          window[j * vocab + mask] = Float.NEGATIVE_INFINITY;
        }
        sample(s, window, vocab, x0, conf);
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
