package dev.freedave.tools;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.freedave.model.DiffusionLM;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Logits of a checkpoint for given ids, to compare it against another implementation. */
@Command(name = "logits", mixinStandardHelpOptions = true,
    description = "Run one forward pass: int64 ids [B, L] (.npy) -> float32 logits [B, L, V] (.npy)")
final class LogitsCommand implements Callable<Integer> {
  @Mixin ModelOptions modelOptions;

  @Option(names = "--ids", required = true, description = "int64 (or int32) token ids [B, L], NumPy .npy")
  Path ids;

  @Option(names = "--mask", description = "key-padding mask [B, L] (.npy, nonzero = a real token); default: all real")
  Path mask;

  @Option(names = "--out", required = true, description = "where to write float32 logits [B, L, V] (.npy)")
  Path out;

  @Option(names = "--block-length", defaultValue = "0", description = "> 0: block-causal attention over blocks of "
      + "this length at positions 0, B, 2B, ... (a block model such as SDAR: what its decoders see); "
      + "0 (default): bidirectional")
  int blockLength;

  @Override
  public Integer call() throws Exception {
    Npy.Array in = integers(ids, "--ids");
    Npy.Array keep = mask == null ? null : integers(mask, "--mask");
    if (keep != null && !Arrays.equals(keep.shape(), in.shape())) {
      throw new IllegalArgumentException("--mask has shape " + Arrays.toString(keep.shape()) + ", --ids "
          + Arrays.toString(in.shape()));
    }
    try (DiffusionLM model = modelOptions.load(); NDManager m = model.newScope()) {
      NDArray ids = m.create(in.longs(), new Shape(in.shape()));
      NDArray keys = keep == null ? null : m.create(keep.longs(), new Shape(keep.shape()));
      NDArray logits = blockLength > 0 ? model.logitsBlockCausal(ids, keys, null, blockLength)
          : model.logits(ids, keys, null);
      Npy.writeFloats(out, logits.getShape().getShape(), logits.toFloatArray());
      System.out.println("wrote " + out + " " + logits.getShape());
    }
    return 0;
  }

  private static Npy.Array integers(Path file, String option) throws java.io.IOException {
    Npy.Array a = Npy.read(file);
    if (a.longs() == null || a.shape().length != 2) {
      throw new IllegalArgumentException(option + " must be an integer array [B, L], got " + a.descr() + " "
          + Arrays.toString(a.shape()));
    }
    return a;
  }
}
