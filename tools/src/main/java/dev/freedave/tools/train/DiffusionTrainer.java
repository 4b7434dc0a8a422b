package dev.freedave.tools.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.freedave.model.CheckpointWriter;
import dev.freedave.model.LlamaFamilyModel;
import dev.freedave.model.ModelConfig;
import dev.freedave.model.ModelFamily;
import dev.freedave.model.RandomWeights;
import dev.freedave.model.SafetensorsReader;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The masked-diffusion objective (LLaDA SFT) with DJL autograd on the project's own forward pass:
 * t ~ U(0,1) per example, each answer-region token masked with probability t, cross-entropy on the
 * masked tokens weighted 1/t and normalised by the answer length; the prompt is never masked.
 * AdamW with linear warm-up and cosine decay.
 */
public final class DiffusionTrainer {
  private final LlamaFamilyModel model;
  private final TrainData data;
  private final int mask;
  private final double peakLr;
  private final int warmup;
  private final int totalSteps;
  private final List<NDArray> params;
  private final List<NDArray> mean = new ArrayList<>();
  private final List<NDArray> variance = new ArrayList<>();
  private int step;

  public DiffusionTrainer(LlamaFamilyModel model, TrainData data, double peakLr, int warmup, int totalSteps) {
    this.model = model;
    this.data = data;
    this.mask = model.spec().maskTokenId();
    this.peakLr = peakLr;
    this.warmup = warmup;
    this.totalSteps = totalSteps;
    this.params = model.parameters();
    for (NDArray p : params) {
      p.setRequiresGradient(true);
      mean.add(p.zerosLike());
      variance.add(p.zerosLike());
    }
  }

  /** One optimiser step on a random batch of training rows {@code [0, rows)}; returns the loss. */
  public float step(Random rnd, int batch, int rows) {
    int[] idx = new int[batch];
    for (int i = 0; i < batch; i++) {
      idx[i] = rnd.nextInt(rows);
    }
    float loss;
    try (NDManager m = model.newScope(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
      NDArray l = loss(m, idx, rnd);
      gc.backward(l);
      loss = l.getFloat();
      step++;
      double lr = learningRate(step);
      // Adam's bias correction folded into the learning rate, as DJL's own Adam does
      float corrected = (float) (lr * Math.sqrt(1 - Math.pow(0.95, step)) / (1 - Math.pow(0.9, step)));
      for (int i = 0; i < params.size(); i++) {
        NDArray p = params.get(i);
        NDArray g = p.getGradient();
        p.getNDArrayInternal().adamUpdate(new NDList(p, g, mean.get(i), variance.get(i)), new NDList(p), (float) lr,
            corrected, 0.1f, 1f, 1f, 0.9f, 0.95f, 1e-8f, false, true);
        g.close();
      }
    }
    return loss;
  }

  /** The loss on fixed rows with fixed masks (a held-out curve), without touching the weights. */
  public float evaluate(int[] rows, long seed) {
    try (NDManager m = model.newScope()) {
      return loss(m, rows, new Random(seed)).getFloat();
    }
  }

  double learningRate(int s) {
    double warm = Math.min(1.0, s / (double) Math.max(1, warmup));
    double progress = Math.min(1.0, s / (double) Math.max(1, totalSteps));
    return peakLr * warm * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * progress)));
  }

  private NDArray loss(NDManager m, int[] idx, Random rnd) {
    int b = idx.length;
    int len = data.length();
    long[] input = new long[b * len];
    long[] target = new long[b * len];
    long[] keep = new long[b * len];
    float[] weight = new float[b * len];
    for (int r = 0; r < b; r++) {
      int row = idx[r];
      int start = data.promptLength()[row];
      int end = start + data.genLength();
      double t = 1e-3 + (1 - 1e-3) * rnd.nextDouble();
      for (int j = 0; j < len; j++) {
        int tok = data.token(row, j);
        boolean masked = j >= start && j < end && rnd.nextDouble() < t;
        input[r * len + j] = masked ? mask : tok;
        target[r * len + j] = tok;
        keep[r * len + j] = j < end ? 1 : 0;
        weight[r * len + j] = masked ? (float) (1.0 / (t * data.genLength() * b)) : 0f;
      }
    }
    NDArray logits = model.trainingLogits(m.create(input, new Shape(b, len)), m.create(keep, new Shape(b, len)));
    NDArray logp = logits.logSoftmax(-1); // [B,L,V]
    NDArray picked = logp.gather(m.create(target, new Shape(b, len, 1)), 2).reshape(b, len);
    return picked.mul(m.create(weight, new Shape(b, len))).sum().neg().toType(DataType.FLOAT32, false);
  }

  public int steps() {
    return step;
  }

  /**
   * A randomly initialised LLaDA-naming checkpoint (config.json + safetensors) to train from, for a
   * tokenizer's vocabulary and special ids; the caller adds the tokenizer file.
   */
  public static ModelConfig writeInitialCheckpoint(Path dir, int vocab, int hidden, int layers, int heads, int ffn,
      int maskId, int eosId, long seed) throws IOException {
    ModelConfig config = new ModelConfig(ModelFamily.LLADA, vocab, hidden, layers, heads, heads, hidden / heads, ffn,
        1e-5, 500000, false, false, 512, maskId, List.of(eosId));
    CheckpointWriter.write(dir, config, RandomWeights.of(config, seed), SafetensorsReader.DType.F32, 1);
    return config;
  }
}
