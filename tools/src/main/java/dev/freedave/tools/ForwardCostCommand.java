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
import ai.djl.pytorch.jni.JniUtils;
import dev.freedave.model.BlockCache;
import dev.freedave.model.CacheMode;
import dev.freedave.model.ComputeDtype;
import dev.freedave.model.CudaGraphs;
import dev.freedave.model.DiffusionLM;
import dev.freedave.model.LlamaFamilyModel;
import dev.freedave.model.ModelFolder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What one forward of the product costs at given shapes, as the decoders call it (inputs made on the
 * host, the argmax read back): full forwards of B rows, the cache-filling forward, and cached
 * forwards of R rows × K drafts, each row against its own frozen cache, the rows of one fill and (R >
 * 1) of R fills. Prints a table, with a ratio
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

  @Option(names = "--profile", description = "also one forward of each shape under libtorch's profiler: a "
      + "Chrome trace per shape in this folder (notebooks/profile_summary.py sums its ops)")
  Path profile;

  @Option(names = "--walk", description = "also forwards whose shape changes every call, as FreeDave's do: full "
      + "forwards of 1 .. the largest --full-batch rows, cached ones of 1 .. the most --rows x 1 .. the most --drafts, "
      + "in a shuffled order, twice (the first pass meets every shape for the first time, the second again)")
  boolean walk;

  @Override
  public Integer call() throws Exception {
    Device dev = Device.fromName(device);
    Map<String, Double> ref = new LinkedHashMap<>();
    if (reference != null) {
      JsonObject j = JsonParser.parseString(Files.readString(reference)).getAsJsonObject();
      j.entrySet().forEach(e -> ref.put(e.getKey(), e.getValue().getAsDouble()));
    }
    Map<String, Object> json = new LinkedHashMap<>();
    if (profile != null) {
      Files.createDirectories(profile);
    }
    if (opCosts) {
      json.put("op_us", opCosts(dev));
    }
    long t0 = System.nanoTime();
    try (DiffusionLM lm = load(dev)) {
      System.out.printf(Locale.ROOT, "model ready in %.1f s; prompt %d + gen %d, block %d, %s on %s%n",
          (System.nanoTime() - t0) / 1e9, prompt, gen, block, dtype, dev);
      Map<String, Double> ms = measure(lm);
      System.out.printf("%-44s %10s %10s %8s%n", "shape", "ms", "reference", "ratio");
      ms.forEach((k, v) -> System.out.printf(Locale.ROOT, "%-44s %10.2f %10s %8s%n", k, v,
          ref.containsKey(k) ? String.format(Locale.ROOT, "%.2f", ref.get(k)) : "-",
          ref.containsKey(k) ? String.format(Locale.ROOT, "%.2f", v / ref.get(k)) : "-"));
      json.put("ms", ms);
      if (!ref.isEmpty()) {
        json.put("reference_ms", ref);
      }
    }
    System.out.println(CudaGraphs.summary());
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
      timed(out, "full B=" + b, () -> {
        try (NDManager s = lm.newScope()) {
          lm.logits(s.create(ids, new Shape(b, len)), null, null, s.create(index, new Shape(b, block)))
              .argMax(-1).toLongArray();
        }
      });
    }
    if (walk) {
      int largest = fullBatch.stream().mapToInt(Integer::intValue).max().orElse(1);
      long[] ids = randomIds(r, largest * len, vocab);
      List<int[]> shapes = new ArrayList<>();
      for (int b = 1; b <= largest; b++) {
        shapes.add(new int[] {b});
      }
      walk(out, "full walk B=1.." + largest, shapes, sh -> {
        int b = sh[0];
        try (NDManager s = lm.newScope()) {
          lm.logits(s.create(Arrays.copyOf(ids, b * len), new Shape(b, len)), null, null,
              s.create(blockIndex(b), new Shape(b, block))).argMax(-1).toLongArray();
        }
      });
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
    timed(out, "fill B=1", () -> {
      try (NDManager s = lm.newScope()) {
        List<BlockCache> c = new ArrayList<>();
        fillRow(lm, s, ids, 0, c).argMax(-1).toLongArray();
        c.forEach(BlockCache::close);
      }
    });
    try (NDManager s = lm.newScope()) {
      List<BlockCache> caches = new ArrayList<>();
      lm.logitsFillingCache(s.create(ids, new Shape(most, len)), null, s.create(blockIndex(most),
          new Shape(most, block)), lengths, qs, qe, CacheMode.DUAL, 0, caches);
      for (int n : rows) {
        for (int k : drafts) {
          timed(out, "cached rows=" + n + " K=" + k, () -> cached(lm, caches, ids, n, k));
        }
      }
      if (walk) {
        int mostDrafts = drafts.stream().mapToInt(Integer::intValue).max().orElse(1);
        List<int[]> shapes = new ArrayList<>();
        for (int n = 1; n <= most; n++) {
          for (int k = 1; k <= mostDrafts; k++) {
            shapes.add(new int[] {n, k});
          }
        }
        walk(out, "cached walk rows=1.." + most + " K=1.." + mostDrafts, shapes,
            sh -> cached(lm, caches, ids, sh[0], sh[1]));
      }
      caches.forEach(BlockCache::close);
    }
    if (most > 1) {
      // the same rows each from a fill of its own, as rows that decode out of step hold them (FreeDave's
      // rows desynchronise): the call gathers their caches, where one fill's rows are one tensor
      try (NDManager s = lm.newScope()) {
        List<BlockCache> caches = new ArrayList<>();
        for (int i = 0; i < most; i++) {
          fillRow(lm, s, ids, i, caches);
        }
        for (int n : rows.stream().filter(n -> n > 1).toList()) {
          for (int k : drafts) {
            timed(out, "cached rows=" + n + " K=" + k + ", " + n + " fills", () -> cached(lm, caches, ids, n, k));
          }
        }
        caches.forEach(BlockCache::close);
      }
    }
    return out;
  }

  /** The cache-filling forward of row {@code row} of {@code ids} alone, its cache appended to {@code into}. */
  private NDArray fillRow(DiffusionLM lm, NDManager s, long[] ids, int row, List<BlockCache> into) {
    int len = prompt + gen;
    return lm.logitsFillingCache(s.create(Arrays.copyOfRange(ids, row * len, (row + 1) * len), new Shape(1, len)), null,
        s.create(blockIndex(1), new Shape(1, block)), new int[] {len}, new int[] {prompt}, new int[] {prompt + block},
        CacheMode.DUAL, 0, into);
  }

  /** One cached forward of the first n rows' caches, k drafts of the block each, its argmax read back. */
  private void cached(DiffusionLM lm, List<BlockCache> caches, long[] ids, int n, int k) {
    int len = prompt + gen;
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
    try (NDManager c = lm.newScope()) {
      lm.logitsWithCache(caches.subList(0, n), c.create(q, new Shape(n, t)), c.create(pos, new Shape(n, t)),
          c.create(draft, new Shape(n, t)), c.create(index, new Shape(n, t)), 0, null, null, null).argMax(-1).toLongArray();
    }
  }

  /**
   * Mean ms per forward over the shapes in a shuffled order, three times: the first pass meets each
   * shape for the first time (what compiling or planning per shape costs), the second meets them again
   * in the same changing order, the third calls each twice and times the repeat (its steady cost).
   * The repeats are also averaged by quarter of the order in which the shapes were first met: libtorch
   * specialises a method for the shapes it meets in a chain, so a steady cost that rises with the
   * quarter is what a shape's place in that chain costs (docs/results.md, "Fusion depth").
   */
  private static void walk(Map<String, Double> out, String name, List<int[]> shapes, Consumer<int[]> forward) {
    List<int[]> order = new ArrayList<>(shapes);
    Collections.shuffle(order, new Random(1));
    for (String pass : List.of("first", "second")) {
      long t0 = System.nanoTime();
      order.forEach(forward);
      out.put(name + " " + pass + " pass", (System.nanoTime() - t0) / 1e6 / order.size());
    }
    long[] repeat = new long[order.size()];
    for (int i = 0; i < repeat.length; i++) {
      forward.accept(order.get(i));
      long t0 = System.nanoTime();
      forward.accept(order.get(i));
      repeat[i] = System.nanoTime() - t0;
    }
    out.put(name + " repeated", Arrays.stream(repeat).sum() / 1e6 / repeat.length);
    int quarter = (repeat.length + 3) / 4;
    for (int from = 0; from < repeat.length; from += quarter) {
      int to = Math.min(repeat.length, from + quarter);
      out.put(name + " repeated, met " + (from + 1) + "-" + to,
          Arrays.stream(repeat, from, to).sum() / 1e6 / (to - from));
    }
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

  /** The median ms of {@code forward} under {@code name}; with --profile, then one forward traced. */
  private void timed(Map<String, Double> out, String name, Runnable forward) {
    out.put(name, median(forward));
    if (profile != null) {
      JniUtils.startProfile(false, false, false);
      forward.run();
      JniUtils.stopProfile(profile.resolve(name.replaceAll("[^A-Za-z0-9]+", "-") + ".json").toString());
    }
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
