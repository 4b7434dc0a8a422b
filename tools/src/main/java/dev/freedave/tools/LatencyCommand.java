package dev.freedave.tools;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.freedave.model.DiffusionLM;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Forward-pass latency at several batch sizes, measured in one process. */
@Command(name = "latency", mixinStandardHelpOptions = true, description = "Time forward passes of a checkpoint at several batch sizes")
final class LatencyCommand implements Callable<Integer> {
  @Mixin ModelOptions modelOptions;

  @Option(names = "--batch", split = ",", defaultValue = "1,16") List<Integer> batches;

  @Option(names = "--length", defaultValue = "64", description = "sequence length") int length;

  @Option(names = "--iters", defaultValue = "20") int iters;

  @Override
  public Integer call() throws Exception {
    try (DiffusionLM model = modelOptions.load()) {
      Random rnd = new Random(0);
      System.out.printf("model %s (%s) vocab=%d length=%d%n", modelOptions.model, model.getClass().getSimpleName(),
          model.spec().vocabSize(), length);
      for (int b : batches) {
        long[] ids = new long[b * length];
        Arrays.setAll(ids, i -> rnd.nextInt(model.spec().vocabSize()));
        double[] ms = new double[iters];
        for (int it = -3; it < iters; it++) { // 3 warm-up forwards
          try (NDManager m = model.newScope()) {
            long t0 = System.nanoTime();
            model.logits(m.create(ids, new Shape(b, length)), null, null).toFloatArray();
            if (it >= 0) {
              ms[it] = (System.nanoTime() - t0) / 1e6;
            }
          }
        }
        Arrays.sort(ms);
        System.out.printf("batch=%d median_ms=%.2f min_ms=%.2f per_row_ms=%.3f%n", b, ms[iters / 2], ms[0],
            ms[iters / 2] / b);
      }
    }
    return 0;
  }
}
