package dev.freedave.tools;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.freedave.model.BlockCache;
import dev.freedave.model.CacheMode;
import dev.freedave.model.ComputeDtype;
import dev.freedave.model.DiffusionLM;
import dev.freedave.model.LlamaFamilyModel;
import dev.freedave.model.ModelFolder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.function.IntConsumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What one forward of the product costs at given shapes, as the decoders call it (inputs made on the
 * host, the argmax read back): full forwards of B rows, the cache-filling forward, and cached
 * forwards of R rows × K drafts, each row against its own frozen cache. Prints a table, with a ratio
 * column against a reference's JSON (notebooks/eager_cost.py: PyTorch eager at the same shapes), and a
 * final JSON line.
 */
@Command(name = "forward-cost", mixinStandardHelpOptions = true,
    description = "Time the product's forward at given shapes (full, cache fill, cached rows x drafts)")
final class ForwardCostCommand implements Callable<Integer> {
  @Option(names = "--model", description = "model folder; or use --shape") Path model;

  @Option(names = "--shape", description = "random weights of these shapes, made on the device: llada-8b")
  String shape;

  @Option(names = "--layers", description = "with --shape: blocks (default: the model's)") Integer layers;

  @Option(names = "--dtype", defaultValue = "float16") String dtype;

  @Option(names = "--device", defaultValue = "gpu") String device;

  @Option(names = "--prompt", defaultValue = "256") int prompt;

  @Option(names = "--gen", defaultValue = "256") int gen;

  @Option(names = "--block", defaultValue = "32", description = "block length: the query window and LM head rows")
  int block;

  @Option(names = "--full-batch", split = ",", defaultValue = "1,8,32") List<Integer> fullBatch;

  @Option(names = "--rows", split = ",", defaultValue = "1,8") List<Integer> rows;

  @Option(names = "--drafts", split = ",", defaultValue = "1,8,16") List<Integer> drafts;

  @Option(names = "--reps", defaultValue = "10", description = "timed forwards per shape (median reported)")
  int reps;

  @Option(names = "--reference", description = "JSON {shape: ms} of another implementation, for the ratio column")
  Path reference;

  @Option(names = "--op-costs", description = "also the host cost of single DJL operations on this device")
  boolean opCosts;

  @Override
  public Integer call() throws Exception {
    Device dev = Device.fromName(device);
    Map<String, Double> ref = new LinkedHashMap<>();
    if (reference != null) {
      JsonObject j = JsonParser.parseString(Files.readString(reference)).getAsJsonObject();
      j.entrySet().forEach(e -> ref.put(e.getKey(), e.getValue().getAsDouble()));
    }
    Map<String, Object> json = new LinkedHashMap<>();
    if (opCosts) {
      json.put("op_us", opCosts(dev));
    }
    long t0 = System.nanoTime();
    try (DiffusionLM lm = load(dev)) {
      System.out.printf(Locale.ROOT, "model ready in %.1f s; prompt %d + gen %d, block %d, %s on %s%n",
          (System.nanoTime() - t0) / 1e9, prompt, gen, block, dtype, dev);
      Map<String, Double> ms = measure(lm);
      System.out.printf("%-22s %10s %10s %8s%n", "shape", "ms", "reference", "ratio");
      ms.forEach((k, v) -> System.out.printf(Locale.ROOT, "%-22s %10.2f %10s %8s%n", k, v,
          ref.containsKey(k) ? String.format(Locale.ROOT, "%.2f", ref.get(k)) : "-",
          ref.containsKey(k) ? String.format(Locale.ROOT, "%.2f", v / ref.get(k)) : "-"));
      json.put("ms", ms);
      if (!ref.isEmpty()) {
        json.put("reference_ms", ref);
      }
    }
    System.out.println(new Gson().toJson(json));
    return 0;
  }

  private DiffusionLM load(Device dev) throws Exception {
    ComputeDtype dt = ComputeDtype.parse(dtype);
    if (shape != null) {
      if (!shape.equals("llada-8b")) {
        throw new IllegalArgumentException("--shape must be llada-8b, got " + shape);
      }
      return LlamaFamilyModel.random(SyntheticCheckpoint.lladaShapes(layers == null ? 32 : layers), dt, dev);
    }
    if (model == null) {
      throw new IllegalArgumentException("give --model or --shape");
    }
    return ModelFolder.open(model).loadModel(dt, dev);
  }

  private Map<String, Double> measure(DiffusionLM lm) {
    int len = prompt + gen;
    int vocab = lm.spec().vocabSize();
    Random r = new Random(0);
    Map<String, Double> out = new LinkedHashMap<>();
    for (int b : fullBatch) {
      long[] ids = randomIds(r, b * len, vocab);
      long[] index = blockIndex(b);
      out.put("full B=" + b, median(() -> {
        try (NDManager s = lm.newScope()) {
          lm.logits(s.create(ids, new Shape(b, len)), null, null, s.create(index, new Shape(b, block)))
              .argMax(-1).toLongArray();
        }
      }));
    }
    if (!lm.supportsCache()) {
      return out;
    }
    int most = rows.stream().mapToInt(Integer::intValue).max().orElse(1);
    long[] ids = randomIds(r, most * len, vocab);
    int[] lengths = new int[most];
    int[] qs = new int[most];
    int[] qe = new int[most];
    Arrays.fill(lengths, len);
    Arrays.fill(qs, prompt);
    Arrays.fill(qe, prompt + block);
    out.put("fill B=1", median(() -> {
      try (NDManager s = lm.newScope()) {
        List<BlockCache> c = new ArrayList<>();
        lm.logitsFillingCache(s.create(Arrays.copyOf(ids, len), new Shape(1, len)), null,
            s.create(blockIndex(1), new Shape(1, block)), new int[] {len}, new int[] {prompt},
            new int[] {prompt + block}, CacheMode.DUAL, 0, c).argMax(-1).toLongArray();
        c.forEach(BlockCache::close);
      }
    }));
    try (NDManager s = lm.newScope()) {
      List<BlockCache> caches = new ArrayList<>();
      lm.logitsFillingCache(s.create(ids, new Shape(most, len)), null, s.create(blockIndex(most),
          new Shape(most, block)), lengths, qs, qe, CacheMode.DUAL, 0, caches);
      for (int n : rows) {
        for (int k : drafts) {
          int t = k * block;
          long[] q = new long[n * t];
          long[] pos = new long[n * t];
          long[] draft = new long[n * t];
          for (int i = 0; i < n * t; i++) {
            q[i] = ids[(i / t) * len + prompt + i % block];
            pos[i] = prompt + i % block;
            draft[i] = (i % t) / block;
          }
          long[] index = new long[n * t];
          Arrays.setAll(index, i -> i % t);
          List<BlockCache> mine = caches.subList(0, n);
          out.put("cached rows=" + n + " K=" + k, median(() -> {
            try (NDManager c = lm.newScope()) {
              lm.logitsWithCache(mine, c.create(q, new Shape(n, t)), c.create(pos, new Shape(n, t)),
                  c.create(draft, new Shape(n, t)), c.create(index, new Shape(n, t)), 0, null, null)
                  .argMax(-1).toLongArray();
            }
          }));
        }
      }
      caches.forEach(BlockCache::close);
    }
    return out;
  }

  private static long[] randomIds(Random r, int n, int vocab) {
    long[] ids = new long[n];
    Arrays.setAll(ids, i -> 4 + r.nextInt(Math.min(vocab, 64) - 4));
    return ids;
  }

  /** Each row's LM head rows: the block after the prompt. */
  private long[] blockIndex(int b) {
    long[] index = new long[b * block];
    Arrays.setAll(index, i -> prompt + i % block);
    return index;
  }

  private double median(Runnable forward) {
    for (int i = 0; i < 3; i++) {
      forward.run();
    }
    double[] ms = new double[reps];
    for (int i = 0; i < reps; i++) {
      long t0 = System.nanoTime();
      forward.run();
      ms[i] = (System.nanoTime() - t0) / 1e6;
    }
    Arrays.sort(ms);
    return ms[reps / 2];
  }

  /**
   * Host time of single DJL operations, each timed over many calls with the device drained once at the
   * end: what a forward written as DJL ops pays per op (docs/results.md, "Where a DJL op's time goes").
   */
  private static Map<String, Double> opCosts(Device dev) {
    Map<String, Double> us = new LinkedHashMap<>();
    try (NDManager m = NDManager.newBaseManager(dev, "PyTorch")) {
      NDArray x = m.ones(new Shape(4, 64));
      NDArray w = m.ones(new Shape(64, 64));
      NDArray big = m.ones(new Shape(1, 32, 512, 128));
      NDArray two = m.ones(new Shape(4, 64)).mul(2);
      us.put("add of two arrays", perOp(2000, i -> x.add(two).close(), x));
      us.put("add of a Java scalar", perOp(2000, i -> x.add(1f).close(), x));
      us.put("linear 4x64 by 64x64", perOp(2000, i -> ai.djl.nn.core.Linear.linear(x, w).close(), x));
      us.put("toType to float32 on float32", perOp(2000, i -> x.toType(DataType.FLOAT32, false), x));
      us.put("toType to float16 and back", perOp(1000, i -> {
        NDArray h = x.toType(DataType.FLOAT16, false);
        h.toType(DataType.FLOAT32, false).close();
        h.close();
      }, x));
      us.put("get with an NDIndex string", perOp(2000, i -> big.get(new NDIndex("0:1, :, :{}", 100)).close(), x));
      us.put("newSubManager and close", perOp(2000, i -> m.newSubManager().close(), x));
      us.put("an add in a sub-manager", perOp(2000, i -> {
        try (NDManager s = m.newSubManager()) {
          x.add(two).attach(s);
        }
      }, x));
      us.put("create long[16] (host to device)", perOp(1000, i -> m.create(new long[16], new Shape(16)).close(), x));
      us.put("a value read back (device to host)", perOp(500, i -> x.max().toFloatArray(), x));
    }
    us.forEach((k, v) -> System.out.printf(Locale.ROOT, "op %-40s %8.2f us%n", k, v));
    return us;
  }

  private static double perOp(int n, IntConsumer op, NDArray drain) {
    for (int i = 0; i < 100; i++) {
      op.accept(i);
    }
    drain.toFloatArray();
    long t0 = System.nanoTime();
    for (int i = 0; i < n; i++) {
      op.accept(i);
    }
    drain.toFloatArray();
    return (System.nanoTime() - t0) / 1e3 / n;
  }
}
