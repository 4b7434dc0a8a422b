package dev.freedave.model;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The transformer stack as one scripted module ({@code freedave/core/transformer_core.py}), so that a
 * forward is one call from Java into libtorch instead of ~30 DJL calls per layer (docs/results.md,
 * "GPU": each DJL call costs 13-40 µs of host time; the scripted core runs its ops without returning).
 * The module is built for one model's hyper-parameters when the model loads; weights, rotary tables
 * and caches are arguments of every call.
 */
final class TransformerCore implements AutoCloseable {
  static final String SOURCE = "freedave/core/transformer_core.py";
  /**
   * libtorch's graph executor profiles the first calls of a shape and fuses elementwise chains for
   * it (on the H200 the cached forward at LLaDA-8B shape: 9.6 ms with it, 16.9 without); the flag is
   * per thread in libtorch, so it is set on every call. {@code -Dfreedave.graph-optimizer=false} turns it off.
   */
  private static final boolean OPTIMIZE = !"false".equals(System.getProperty("freedave.graph-optimizer"));
  /**
   * On CUDA the core calls the memory-efficient attention kernel by name: left to choose, libtorch
   * 2.11 picks cuDNN's kernel for float16 on an H200, which costs 40-55 ms on every new shape
   * (docs/results.md, "cuDNN attention"). {@code -Dfreedave.cuda-attention=sdpa} leaves the choice
   * to scaled_dot_product_attention again, for comparison or for a GPU where its pick is better.
   */
  private static final boolean CUDA_EFFICIENT = !"sdpa".equals(System.getProperty("freedave.cuda-attention"));

  /**
   * Bytes of one layer's frozen keys and values over all rows of a cached call up to which its layers
   * attend over them concatenated with the fresh keys, rather than a buffer the layers write into
   * (docs/results.md, "Cached keys": the demo model gains from the fewer ops, LLaDA-8B at 8 rows, 64
   * MiB a layer, loses 6 ms to the copies). Read at each load: {@code -Dfreedave.cached-concat-bytes=N}.
   */
  static final String CONCAT_BYTES = "freedave.cached-concat-bytes";

  /**
   * {@code -Dfreedave.stacked-caches=true} (read at each load): cached forwards of rows frozen at one
   * length take their caches stacked by the caller, as they do under CUDA graphs, also without them
   * (for tests and comparison; called, the core's own stacking costs fewer host calls).
   */
  static final String STACKED_CACHES = "freedave.stacked-caches";

  private final Model model;
  private final PtSymbolBlock block;
  private final CudaGraphs graphs; // null: every forward is called
  private final boolean optimize; // the graph optimiser: off under CUDA graphs (see CudaGraphs)
  private final long concatBytes;
  private final long kvBytesPerRowPosition; // one layer's key + value of one position of one row
  private final boolean stackCaches; // the caller stacks equal-length caches (cached_stacked): graphs need tensors

  private TransformerCore(Model model, boolean cuda, long concatBytes, long kvBytesPerRowPosition) {
    this.model = model;
    this.block = (PtSymbolBlock) model.getBlock();
    this.graphs = CudaGraphs.forCore(block, cuda);
    this.optimize = OPTIMIZE && graphs == null;
    this.concatBytes = concatBytes;
    this.kvBytesPerRowPosition = kvBytesPerRowPosition;
    this.stackCaches = graphs != null || Boolean.getBoolean(STACKED_CACHES);
  }

  /** The core for {@code c}'s shapes; the residual stream's dtype is the family's ({@link ModelFamily#residualFp32}). */
  static TransformerCore load(ModelConfig c, ComputeDtype dtype, Device device) throws IOException {
    Map<String, Object> attributes = new LinkedHashMap<>();
    attributes.put("heads", c.numHeads());
    attributes.put("kv_heads", c.numKvHeads());
    attributes.put("head_dim", c.headDim());
    attributes.put("layers", c.numLayers());
    attributes.put("qkv_bias", c.qkvBias());
    attributes.put("residual_fp32", c.family().residualFp32);
    attributes.put("qk_norm", c.family().qkNorm);
    attributes.put("per_layer", LlamaWeights.perLayer(c));
    attributes.put("eps", c.rmsNormEps());
    attributes.put("cuda_efficient", CUDA_EFFICIENT);
    int concatBytes = Integer.getInteger(CONCAT_BYTES, 32 << 20);
    attributes.put("concat_bytes", concatBytes);
    byte[] archive = TorchScriptArchive.of("freedave", "TransformerCore", source(), attributes);
    Path dir = Files.createTempDirectory("freedave-core");
    Path file = dir.resolve("transformer_core.pt");
    try {
      Files.write(file, archive);
      DjlOffline.apply();
      Model m = Model.newInstance("freedave-core", device, "PyTorch");
      try {
        m.load(dir, "transformer_core");
      } catch (MalformedModelException | RuntimeException e) {
        m.close();
        throw new ModelLoadException("libtorch refused the transformer core: " + e.getMessage(), e);
      }
      return new TransformerCore(m, device.isGpu(), concatBytes,
          2L * c.numKvHeads() * c.headDim() * dtype.djl().getNumOfBytes());
    } finally {
      Files.deleteIfExists(file);
      Files.deleteIfExists(dir);
    }
  }

  static String source() throws IOException {
    try (InputStream in = TransformerCore.class.getClassLoader().getResourceAsStream(SOURCE)) {
      if (in == null) {
        throw new IOException("missing resource " + SOURCE);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /**
   * Logits [B, W, V] of a forward over whole rows; {@code keep} null = no padding; {@code block} > 0
   * = block-causal attention over the positions {@code pos}, 0 = bidirectional.
   */
  NDArray full(NDArray ids, NDArray pos, NDArray keep, int block, NDArray outIndex, RopeTable.Tables rope,
      IValue weights) {
    return call("full", ids.getManager(), ids, pos, keep != null ? keep : ids, keep != null, block, outIndex,
        rope.cos(), rope.sin(), weights).singletonOrThrow();
  }

  /** {@link #full} plus every layer's rotated keys and values, [B, layers, Hkv, T, hd] each. */
  NDList fill(NDArray ids, NDArray pos, NDArray keep, int block, NDArray outIndex, RopeTable.Tables rope,
      IValue weights) {
    return call("fill", ids.getManager(), ids, pos, keep != null ? keep : ids, keep != null, block, outIndex,
        rope.cos(), rope.sin(), weights);
  }

  /**
   * {@code method(args)}: args are tensors (NDArray), the weights list (an IValue), booleans and ints,
   * the first the ids, whose size is the call's query tokens; from a CUDA graph where one applies.
   * The result is the method's tensor or its tuple's, in {@code manager}.
   */
  private NDList call(String method, NDManager manager, Object... args) {
    if (graphs == null || !graphs.takes(((NDArray) args[0]).size())) {
      return direct(method, manager, args);
    }
    JniUtils.setGraphExecutorOptimize(optimize); // a capture runs the method as run() does
    return graphs.call(method, manager, () -> direct(method, manager, args), args);
  }

  /** {@code method(args)} called (args as {@link #call} takes them, or IValues the caller closes). */
  private NDList direct(String method, NDManager manager, Object... args) {
    try (Args a = new Args(); IValue out = run(method, a.all(args))) {
      return out.isTuple() ? tensors(out, manager) : new NDList(out.toTensor((PtNDManager) manager));
    }
  }

  /**
   * Logits [R, W, V] of R rows' draft windows against their frozen caches (see the source for the
   * layout); with {@code freshKv} also the fresh keys and values, [R, layers, 1, Hkv, T, hd] each.
   */
  NDList cached(NDArray ids, NDArray pos, NDArray drafts, NDArray keyKeep, int block, List<BlockCache> caches,
      NDArray outIndex, RopeTable.Tables rope, IValue weights, boolean freshKv) {
    NDManager m = ids.getManager();
    int frozen = caches.get(0).frozenLength();
    if (stackCaches && concatenates(caches.size(), frozen)
        && caches.stream().allMatch(c -> c.frozenLength() == frozen)) {
      // a graph takes tensors, not lists (a list's caches would be baked in): the rows' caches
      // stacked here, one copy a step, for the core's cached_stacked
      NDList k = new NDList();
      NDList v = new NDList();
      caches.forEach(c -> {
        k.add(c.keys());
        v.add(c.values());
      });
      try (NDManager scope = m.newSubManager()) {
        return call(freshKv ? "cached_stacked_kv" : "cached_stacked", m, ids, pos, drafts, keyKeep, block,
            stackRows(k, scope), stackRows(v, scope), outIndex, rope.cos(), rope.sin(), weights);
      }
    }
    // called: the core stacks the caches itself, in its own ops rather than a DJL op's 13-40 µs each;
    // rows that are one fill's, in its order, go as that fill's tensors, which need no stacking
    PtNDArray[] keys;
    PtNDArray[] values;
    if (BlockCache.oneFill(caches)) {
      FillBatch fill = caches.get(0).batch();
      keys = new PtNDArray[] {(PtNDArray) fill.keys()};
      values = new PtNDArray[] {(PtNDArray) fill.values()};
    } else {
      keys = new PtNDArray[caches.size()];
      values = new PtNDArray[caches.size()];
      for (int i = 0; i < keys.length; i++) {
        keys[i] = (PtNDArray) caches.get(i).keys();
        values[i] = (PtNDArray) caches.get(i).values();
      }
    }
    try (IValue k = IValue.listFrom(keys); IValue v = IValue.listFrom(values)) {
      return direct(freshKv ? "cached_kv" : "cached", m, ids, pos, drafts, keyKeep, block, k, v, outIndex,
          rope.cos(), rope.sin(), weights);
    }
  }

  /**
   * Whether the core concatenates the frozen keys of {@code rows} rows frozen at one length
   * {@code frozen} with the fresh ones in every layer (the source's rule; one row always does), which
   * is when a graphed call takes them stacked.
   */
  private boolean concatenates(int rows, int frozen) {
    return rows == 1 || rows * frozen * kvBytesPerRowPosition <= concatBytes;
  }

  /**
   * Rows' [layers, 1, Hkv, F, hd] as [layers, R, Hkv, F, hd]: one row's as it is (a cache is laid
   * out as a stack of one), several rows' concatenated in {@code scope}.
   */
  private static NDArray stackRows(NDList rows, NDManager scope) {
    if (rows.size() == 1) {
      return rows.get(0);
    }
    NDArray out = NDArrays.concat(rows, 1);
    out.attach(scope);
    return out;
  }

  /** {@link DiffusionLM#greedy} of logits [N, W, V] in one call and one read back (called, never graphed). */
  DiffusionLM.Picks greedy(NDArray logits, int excluded) {
    try (NDManager scope = logits.getManager().newSubManager()) {
      float[] both = direct("greedy", scope, logits, excluded).singletonOrThrow().toFloatArray();
      int n = both.length / 2;
      int[] tokens = new int[n];
      for (int i = 0; i < n; i++) {
        tokens[i] = (int) both[i];
      }
      return new DiffusionLM.Picks(tokens, Arrays.copyOfRange(both, n, both.length));
    }
  }

  private static NDList tensors(IValue tuple, NDManager manager) {
    NDList list = new NDList();
    for (IValue part : tuple.toIValueTuple()) {
      try (part) {
        list.add(part.toTensor((PtNDManager) manager));
      }
    }
    return list;
  }

  /**
   * Logits [B, T, V] of every position with autograd on, for a trainer: DJL's training path, which
   * passes tensors only (the weights as a list named {@code weights[]}).
   */
  NDArray trainLogits(NDArray ids, NDArray pos, NDArray keep, NDArray cos, NDArray sin, List<NDArray> weights) {
    NDList in = new NDList(ids, pos, keep, cos, sin);
    NDArray method = ids.getManager().create(0);
    method.setName("module_method:train_logits");
    in.add(0, method);
    for (NDArray w : weights) {
      w.setName("weights[]");
      in.add(w);
    }
    try {
      return IValueUtils.forward(block, in, true).singletonOrThrow();
    } finally {
      method.close();
    }
  }

  private IValue run(String method, IValue... args) {
    JniUtils.setGraphExecutorOptimize(optimize);
    return IValueUtils.runMethod(block, method, args);
  }

  /** The IValues made for one call, closed after it (the long-lived weights and tables are not). */
  private static final class Args implements AutoCloseable {
    private final List<IValue> made = new ArrayList<>();

    IValue of(NDArray a) {
      return keep(IValue.from((PtNDArray) a));
    }

    IValue of(boolean b) {
      return keep(IValue.from(b));
    }

    IValue of(int i) {
      return keep(IValue.from((long) i));
    }

    IValue keep(IValue v) {
      made.add(v);
      return v;
    }

    /** NDArrays, booleans and ints as new IValues; IValues as they are (and not closed). */
    IValue[] all(Object... args) {
      IValue[] out = new IValue[args.length];
      for (int i = 0; i < args.length; i++) {
        Object x = args[i];
        out[i] = x instanceof IValue v ? v : x instanceof NDArray t ? of(t) : x instanceof Boolean b ? of(b)
            : of((Integer) x);
      }
      return out;
    }

    @Override
    public void close() {
      made.forEach(IValue::close);
    }
  }

  @Override
  public void close() {
    if (graphs != null) {
      graphs.close();
    }
    model.close();
  }
}
