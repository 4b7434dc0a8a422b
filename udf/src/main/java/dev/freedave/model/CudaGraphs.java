package dev.freedave.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * CUDA graphs of the core's forwards. A forward of a small model is its host dispatching ~150 ops
 * one after another, ~10 µs each, for a GPU that needs a fraction of that; a graph replays them all
 * in one launch (the demo model on the H200: a full forward of one row 1.50 ms called, 0.62 ms from
 * a graph; docs/results.md, "CUDA graphs"). At LLaDA-8B shape the GPU is the bottleneck already and
 * graphs gain nothing. One graph per method and input shape, captured at the shape's first call and
 * kept if a replay gives that call's result bit for bit; later calls copy their tensors into the
 * graph's static inputs and replay it.
 *
 * <p>With graphs the core runs with libtorch's graph optimiser off (TransformerCore): the optimiser
 * profiles a shape's first calls and compiles fused kernels on a later one, which would put calls
 * without a graph (and a compile) in front of every new shape's capture, and fused and unfused
 * forwards round differently, so shapes with and without a graph would not agree to the bit.
 *
 * <p>Neither TorchScript nor DJL's JNI can capture a graph, so the capture and replay live in a small
 * library of ours built against the machine's torch (native/cuda-graphs/build.sh), loaded from the
 * path {@code -Dfreedave.cuda-graphs=FILE} names (a path that is not a file fails the model's load);
 * without it, and on the CPU, every forward is called as before. What a graph bakes in stays fixed
 * while it lives: the weights list (the model's own) and every non-tensor argument, which is why
 * they are part of the shape key.
 *
 * <p>Memory: every graph keeps copies of its tensor inputs and a private pool for its activations, so
 * graphs are made only for forwards of at most {@code -Dfreedave.cuda-graphs.tokens=8192} query tokens
 * and until their inputs take {@code -Dfreedave.cuda-graphs.input-bytes=4 GiB}; other shapes are
 * called directly.
 */
public final class CudaGraphs implements AutoCloseable {
  static final String LIBRARY = "freedave.cuda-graphs";

  private static native long[] capture(long module, String method, long[] args);

  private static native long[] replay(long graph, long[] tensors);

  private static native void release(long graph);

  private static boolean loaded;

  private final PtSymbolBlock block;
  private final long maxTokens = Long.getLong(LIBRARY + ".tokens", 8192);
  private final long maxInputBytes = Long.getLong(LIBRARY + ".input-bytes", 4L << 30);
  private final Map<String, Long> graphs = new HashMap<>(); // null: refused
  private long inputBytes;
  private static final AtomicInteger MADE = new AtomicInteger();
  private static final AtomicInteger REFUSED = new AtomicInteger();

  private CudaGraphs(PtSymbolBlock block) {
    this.block = block;
  }

  /** Graphs for the core {@code block} on a CUDA device when the library is named, else null. */
  static CudaGraphs forCore(PtSymbolBlock block, boolean cuda) {
    String file = System.getProperty(LIBRARY);
    if (file == null || file.isBlank()) {
      return null;
    }
    Path lib = Path.of(file);
    if (!Files.isRegularFile(lib)) {
      throw new ModelLoadException("-D" + LIBRARY + " names " + file + ", which is not a file (build it with "
          + "native/cuda-graphs/build.sh on a machine with the executors' torch)");
    }
    if (!cuda) {
      return null;
    }
    load(lib);
    return new CudaGraphs(block);
  }

  private static synchronized void load(Path file) {
    if (!loaded) {
      System.load(file.toAbsolutePath().toString());
      loaded = true;
    }
  }

  /** Whether a forward of {@code tokens} query tokens may run from a graph. */
  boolean takes(long tokens) {
    return tokens <= maxTokens;
  }

  /**
   * {@code method(args)}, from its shape's graph once there is one; args are tensors (NDArray, copied
   * into a graph's inputs), the weights list (an IValue, baked in), ints and booleans (baked in, so
   * part of the key). The result is the method's tensor, or its tuple's, in {@code manager}.
   */
  synchronized NDList call(String method, NDManager manager, Supplier<NDList> direct, Object... args) {
    StringBuilder key = new StringBuilder(method);
    List<PtNDArray> tensors = new ArrayList<>();
    long bytes = 0;
    for (Object a : args) {
      key.append('|');
      if (a instanceof NDArray t) {
        tensors.add((PtNDArray) t);
        key.append(t.getDataType()).append(t.getShape());
        bytes += t.size() * t.getDataType().getNumOfBytes();
      } else if (a instanceof IValue v) {
        key.append("ivalue@").append(v.getHandle());
      } else {
        key.append(a);
      }
    }
    String k = key.toString();
    Long graph = graphs.get(k);
    if (graph == null) {
      if (graphs.containsKey(k) || inputBytes + bytes > maxInputBytes) {
        return direct.get(); // refused, or no room for its inputs
      }
      // the call runs in the capture; its graph is kept only if a replay gives its results bit for bit
      long[] made;
      try {
        made = capture(method, args);
      } catch (IllegalStateException e) { // libtorch refused to capture it: this shape runs without
        graphs.put(k, null);
        REFUSED.incrementAndGet();
        return direct.get();
      }
      graph = made[0] != 0 ? made[0] : null;
      graphs.put(k, graph);
      if (graph == null) {
        REFUSED.incrementAndGet();
      } else {
        MADE.incrementAndGet();
        inputBytes += bytes;
      }
      return wrap(Arrays.copyOfRange(made, 1, made.length), manager);
    }
    long[] handles = new long[tensors.size()];
    for (int i = 0; i < handles.length; i++) {
      handles[i] = tensors.get(i).getHandle();
    }
    return wrap(replay(graph, handles), manager);
  }

  private static NDList wrap(long[] handles, NDManager manager) {
    NDList out = new NDList(handles.length);
    for (long h : handles) {
      out.add(new PtNDArray((PtNDManager) manager, h));
    }
    return out;
  }

  /**
   * In this JVM: whether graphs are asked for, how many were made, and how many shapes' graphs were
   * refused (their replay differed from the call).
   */
  public static String summary() {
    String file = System.getProperty(LIBRARY);
    return file == null ? "cuda graphs off" : "cuda graphs " + file + ": " + MADE + " made, " + REFUSED + " refused";
  }

  private long[] capture(String method, Object[] args) {
    List<IValue> made = new ArrayList<>();
    long[] handles = new long[args.length];
    try {
      for (int i = 0; i < args.length; i++) {
        Object a = args[i];
        IValue v;
        if (a instanceof IValue given) {
          v = given;
        } else {
          v = a instanceof NDArray t ? IValue.from((PtNDArray) t)
              : a instanceof Boolean b ? IValue.from(b) : IValue.from(((Integer) a).longValue());
          made.add(v);
        }
        handles[i] = v.getHandle();
      }
      return capture(block.getHandle(), method, handles);
    } finally {
      made.forEach(IValue::close);
    }
  }

  @Override
  public synchronized void close() {
    graphs.values().stream().filter(g -> g != null).forEach(CudaGraphs::release);
    graphs.clear();
  }
}
