package dev.freedave.decode;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.freedave.model.DiffusionLM;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * One forward over many sequences of different lengths: right-padded into [N, L] with pad keys
 * masked (each row keeps positions 0..len-1, so its logits do not depend on its neighbours), the LM
 * head restricted to each sequence's block, and predict() reduced on the device so only
 * [N, W] tokens and confidences cross to the host.
 */
final class BatchForward {
  private BatchForward() {}

  static List<Prediction> run(DiffusionLM model, List<Sequence> seqs) {
    int n = seqs.size();
    int len = 0;
    int w = 0;
    boolean ragged = false;
    for (Sequence s : seqs) {
      ragged |= len != 0 && s.tokens().length != len;
      len = Math.max(len, s.tokens().length);
      w = Math.max(w, s.windowLength());
    }
    int offset = model.spec().predictionOffset();
    long[] ids = new long[n * len];
    long[] keep = ragged ? new long[n * len] : null;
    long[] index = new long[n * w];
    for (int i = 0; i < n; i++) {
      Sequence s = seqs.get(i);
      for (int j = 0; j < s.tokens().length; j++) {
        ids[i * len + j] = s.tokens()[j];
        if (keep != null) {
          keep[i * len + j] = 1;
        }
      }
      for (int j = 0; j < w; j++) {
        // Dream predicts position p from the logits at p - 1; window padding repeats the last row
        int pos = s.promptLength() + s.windowStart() + Math.min(j, s.windowLength() - 1) - offset;
        index[i * w + j] = pos;
      }
    }
    try (NDManager m = model.newScope()) {
      NDArray logits = model.logits(m.create(ids, new Shape(n, len)),
          keep == null ? null : m.create(keep, new Shape(n, len)), null, m.create(index, new Shape(n, w)));
      // the mask id is never a prediction: committing it would leave the position masked forever
      int mask = model.spec().maskTokenId();
      logits.set(new NDIndex(":, :, {}", mask), Float.NEGATIVE_INFINITY);
      NDArray max = logits.max(new int[] {-1}, true); // [N,W,1]
      int[] argmax = logits.argMax(-1).toType(ai.djl.ndarray.types.DataType.INT32, false).toIntArray();
      float[] sumExp = logits.sub(max).exp().sum(new int[] {-1}).toFloatArray();
      List<Prediction> out = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        Sequence s = seqs.get(i);
        int[] x0 = new int[s.windowLength()];
        float[] conf = new float[s.windowLength()];
        for (int j = 0; j < s.windowLength(); j++) {
          x0[j] = argmax[i * w + j];
          conf[j] = 1f / sumExp[i * w + j]; // max softmax probability = exp(max - max) / Σ exp(l - max)
        }
        if (s.temperature() > 0) {
          int vocab = (int) logits.getShape().get(2);
          float[] rows = logits.get(i).toFloatArray();
          sample(s, rows, vocab, x0, conf); // the mask column is -inf here too
        }
        out.add(new Prediction(s.windowStart(), x0, conf));
      }
      return out;
    }
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
