package dev.freedave.job;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.freedave.io.Npy;
import dev.freedave.model.DiffusionLM;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Logits of a checkpoint for given ids, to compare it against another implementation. */
@Command(name = "logits", description = "Run one forward pass: int64 ids [B, L] (.npy) -> float32 logits [B, L, V] (.npy)")
final class LogitsCommand implements Callable<Integer> {
  @Mixin ModelOptions modelOptions;

  @Option(names = "--ids", required = true, description = "int64 (or int32) token ids [B, L], NumPy .npy")
  Path ids;

  @Option(names = "--out", required = true, description = "where to write float32 logits [B, L, V] (.npy)")
  Path out;

  @Override
  public Integer call() throws Exception {
    Npy.Array in = Npy.read(ids);
    if (in.longs() == null || in.shape().length != 2) {
      throw new IllegalArgumentException("--ids must be an integer array [B, L], got " + in.descr() + " "
          + java.util.Arrays.toString(in.shape()));
    }
    try (DiffusionLM model = modelOptions.load(); NDManager m = model.newScope()) {
      NDArray logits = model.logits(m.create(in.longs(), new Shape(in.shape())), null, null);
      Npy.writeFloats(out, logits.getShape().getShape(), logits.toFloatArray());
      System.out.println("wrote " + out + " " + logits.getShape());
    }
    return 0;
  }
}
