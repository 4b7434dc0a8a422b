package dev.freedave.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Llama-style block family of LLaDA and Dream (Qwen2) written as DJL NDArray ops, with fully
 * bidirectional attention. One class for both: the config decides GQA, q/k/v bias and tying.
 *
 * <p>Numerics: the residual stream, norms, RoPE and attention run in float32; with {@code FLOAT16}
 * only the large matrices (embedding, projections, head) are stored and multiplied in fp16. That
 * keeps the fp16 overflow of Qwen2-family activations (models.md §6) out of the residual stream.
 */
public final class LlamaFamilyModel implements DiffusionLM {
  /** Additive attention bias for padding keys: exp() of it underflows to exactly 0. */
  private static final float MASKED = -1e30f;

  private final ModelConfig config;
  private final ModelSpec spec;
  private final NDManager manager;
  private final DataType dtype;
  private final NDArray embedding; // [V, d]
  private final List<Layer> layers;
  private final NDArray finalNorm; // [d]
  private final NDArray head; // [V, d]
  private final float[] invFreq; // [headDim / 2]
  private volatile Rope rope;

  /** One block's tensors, q/k/v and gate/up fused so each is a single matmul. */
  private record Layer(NDArray attnNorm, NDArray qkv, NDArray qkvBias, NDArray out, NDArray ffnNorm,
      NDArray gateUp, NDArray down) {}

  /** cos/sin tables for positions [0, size): [P, headDim] each, angles repeated for both halves. */
  private record Rope(int size, NDArray cos, NDArray sin) {}

  private LlamaFamilyModel(ModelConfig config, ModelSpec spec, NDManager manager, DataType dtype,
      NDArray embedding, List<Layer> layers, NDArray finalNorm, NDArray head) {
    this.config = config;
    this.spec = spec;
    this.manager = manager;
    this.dtype = dtype;
    this.embedding = embedding;
    this.layers = layers;
    this.finalNorm = finalNorm;
    this.head = head;
    int half = config.headDim() / 2;
    this.invFreq = new float[half];
    for (int j = 0; j < half; j++) {
      // as HF computes it: theta^(2j/d) in float32, then its reciprocal
      float denom = (float) Math.pow(config.ropeTheta(), (2.0 * j) / config.headDim());
      invFreq[j] = 1.0f / denom;
    }
  }

  /**
   * Loads a Hugging Face folder. Every tensor's presence and shape is checked before any is
   * loaded; a mismatch names the tensor and the expected shape.
   */
  static LlamaFamilyModel load(Path dir, ModelConfig config, ModelSpec spec, ComputeDtype computeDtype, Device device)
      throws IOException {
    DataType dtype = computeDtype.djl();
    WeightNames names = new WeightNames(config);
    try (Checkpoint ckpt = Checkpoint.open(dir)) {
      ckpt.validate(names.expected());
      NDManager manager = NDManager.newBaseManager(device, "PyTorch");
      try {
        NDArray embedding = ckpt.load(manager, names.embedding(), dtype);
        List<Layer> layers = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
          layers.add(loadLayer(ckpt, names, i, manager, dtype, config.qkvBias()));
        }
        NDArray finalNorm = ckpt.load(manager, names.finalNorm(), DataType.FLOAT32);
        NDArray head = config.tiedEmbeddings() ? embedding : ckpt.load(manager, names.head(), dtype);
        return new LlamaFamilyModel(config, spec, manager, dtype, embedding, layers, finalNorm, head);
      } catch (RuntimeException | IOException e) {
        manager.close();
        throw e;
      }
    }
  }

  private static Layer loadLayer(Checkpoint ckpt, WeightNames n, int i, NDManager m, DataType dt, boolean bias)
      throws IOException {
    NDArray qkv = fuse(ckpt, m, dt, n.layer(i, WeightNames.Part.Q), n.layer(i, WeightNames.Part.K),
        n.layer(i, WeightNames.Part.V));
    NDArray qkvBias = bias ? fuse(ckpt, m, dt, n.layer(i, WeightNames.Part.Q_BIAS),
        n.layer(i, WeightNames.Part.K_BIAS), n.layer(i, WeightNames.Part.V_BIAS)) : null;
    NDArray gateUp = fuse(ckpt, m, dt, n.layer(i, WeightNames.Part.GATE), n.layer(i, WeightNames.Part.UP));
    return new Layer(
        ckpt.load(m, n.layer(i, WeightNames.Part.ATTN_NORM), DataType.FLOAT32), qkv, qkvBias,
        ckpt.load(m, n.layer(i, WeightNames.Part.O), dt),
        ckpt.load(m, n.layer(i, WeightNames.Part.FFN_NORM), DataType.FLOAT32), gateUp,
        ckpt.load(m, n.layer(i, WeightNames.Part.DOWN), dt));
  }

  private static NDArray fuse(Checkpoint ckpt, NDManager m, DataType dt, String... names) throws IOException {
    NDList parts = new NDList();
    try {
      for (String name : names) {
        parts.add(ckpt.load(m, name, dt));
      }
      return NDArrays.concat(parts, 0);
    } finally {
      parts.close();
    }
  }

  public ModelConfig config() {
    return config;
  }

  /**
   * The trainable tensors, as held in memory (q/k/v and gate/up fused): a trainer marks them for
   * gradients and updates them in place.
   */
  public List<NDArray> parameters() {
    List<NDArray> p = new ArrayList<>();
    p.add(embedding);
    for (Layer l : layers) {
      p.addAll(Arrays.asList(l.attnNorm(), l.qkv(), l.out(), l.ffnNorm(), l.gateUp(), l.down()));
      if (l.qkvBias() != null) {
        p.add(l.qkvBias());
      }
    }
    p.add(finalNorm);
    if (head != embedding) {
      p.add(head);
    }
    return p;
  }

  /**
   * Writes the weights as a checkpoint folder in this model's naming (fused tensors split back),
   * with its config.json; the caller adds the tokenizer.
   */
  public void save(Path dir, SafetensorsReader.DType storage) throws IOException {
    WeightNames n = new WeightNames(config);
    long q = (long) config.numHeads() * config.headDim();
    long kv = (long) config.numKvHeads() * config.headDim();
    Map<String, SafetensorsWriter.Tensor> out = new LinkedHashMap<>();
    put(out, n.embedding(), embedding);
    for (int i = 0; i < layers.size(); i++) {
      Layer l = layers.get(i);
      put(out, n.layer(i, WeightNames.Part.ATTN_NORM), l.attnNorm());
      NDList qkv = l.qkv().split(new long[] {q, q + kv}, 0);
      put(out, n.layer(i, WeightNames.Part.Q), qkv.get(0));
      put(out, n.layer(i, WeightNames.Part.K), qkv.get(1));
      put(out, n.layer(i, WeightNames.Part.V), qkv.get(2));
      if (l.qkvBias() != null) {
        NDList b = l.qkvBias().split(new long[] {q, q + kv}, 0);
        put(out, n.layer(i, WeightNames.Part.Q_BIAS), b.get(0));
        put(out, n.layer(i, WeightNames.Part.K_BIAS), b.get(1));
        put(out, n.layer(i, WeightNames.Part.V_BIAS), b.get(2));
      }
      put(out, n.layer(i, WeightNames.Part.O), l.out());
      put(out, n.layer(i, WeightNames.Part.FFN_NORM), l.ffnNorm());
      NDList gu = l.gateUp().split(2, 0);
      put(out, n.layer(i, WeightNames.Part.GATE), gu.get(0));
      put(out, n.layer(i, WeightNames.Part.UP), gu.get(1));
      put(out, n.layer(i, WeightNames.Part.DOWN), l.down());
    }
    put(out, n.finalNorm(), finalNorm);
    if (!config.tiedEmbeddings()) {
      put(out, n.head(), head);
    }
    CheckpointWriter.write(dir, config, out, storage, 1);
  }

  private static void put(Map<String, SafetensorsWriter.Tensor> out, String name, NDArray a) {
    out.put(name, new SafetensorsWriter.Tensor(a.getShape().getShape(),
        a.stopGradient().toType(DataType.FLOAT32, false).toFloatArray()));
  }

  /** The dtype the large matrices are stored and multiplied in. */
  public DataType dtype() {
    return dtype;
  }

  @Override
  public ModelSpec spec() {
    if (spec == null) {
      throw new ModelLoadException("this checkpoint's config.json names no mask_token_id; it cannot be decoded");
    }
    return spec;
  }

  @Override
  public NDManager newScope() {
    return manager.newSubManager();
  }

  @Override
  public NDArray logits(NDArray ids, NDArray keyMask, NDArray positions, NDArray outputIndex) {
    return forward(ids, keyMask, positions, outputIndex, fullAttention(keyMask, null));
  }

  @Override
  public boolean supportsCache() {
    return true;
  }

  @Override
  public NDArray logitsFillingCache(NDArray ids, NDArray keyMask, NDArray outputIndex, int[] lengths,
      int[] queryStart, int[] queryEnd, CacheMode mode, List<BlockCache> out) {
    int b = (int) ids.getShape().get(0);
    List<BlockCache> caches = new ArrayList<>();
    for (int i = 0; i < b; i++) {
      caches.add(new BlockCache(manager.newSubManager(), new NDArray[layers.size()], new NDArray[layers.size()],
          queryStart[i], queryEnd[i]));
    }
    // the full forward's keys/values after RoPE, frozen per row outside the query window
    Capture capture = (layer, k, v) -> {
      for (int i = 0; i < b; i++) {
        BlockCache c = caches.get(i);
        c.keys()[layer] = frozen(k, i, c, lengths[i], mode);
        c.values()[layer] = frozen(v, i, c, lengths[i], mode);
      }
    };
    try {
      NDArray logits = forward(ids, keyMask, null, outputIndex, fullAttention(keyMask, capture));
      out.addAll(caches);
      return logits;
    } catch (RuntimeException e) {
      caches.forEach(BlockCache::close);
      throw e;
    }
  }

  private static NDArray frozen(NDArray x, int row, BlockCache c, int length, CacheMode mode) {
    NDArray prefix = x.get(new NDIndex("{}:{}, :, :{}", row, row + 1, c.queryStart()));
    NDArray kept = mode == CacheMode.DUAL && c.queryEnd() < length
        ? prefix.concat(x.get(new NDIndex("{}:{}, :, {}:{}", row, row + 1, c.queryEnd(), length)), 2)
        : prefix.duplicate();
    kept.attach(c.manager());
    return kept;
  }

  @Override
  public NDArray logitsWithCache(List<BlockCache> caches, NDArray ids, NDArray queryMask, NDArray outputIndex) {
    long n = ids.getShape().get(0);
    long q = ids.getShape().get(1);
    long[] pos = new long[(int) (n * q)];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < q; j++) {
        pos[(int) (i * q + j)] = caches.get(i).queryStart() + j;
      }
    }
    NDArray positions = ids.getManager().create(pos, new Shape(n, q));
    try {
      return forward(ids, queryMask, positions, outputIndex, cachedAttention(caches, queryMask));
    } finally {
      positions.close();
    }
  }

  /** Receives each layer's rotated keys and values [B,Hkv,L,hd] during a full forward. */
  private interface Capture {
    void layer(int layer, NDArray k, NDArray v);
  }

  /** A layer's attention core: q [B,H,L,hd], k and v [B,Hkv,L,hd] → [B,L,H*hd]. */
  private interface AttentionCore {
    NDArray attend(int layer, NDArray q, NDArray k, NDArray v);
  }

  private NDArray forward(NDArray ids, NDArray keyMask, NDArray positions, NDArray outputIndex, AttentionCore core) {
    NDManager out = ids.getManager();
    long b = ids.getShape().get(0);
    long len = ids.getShape().get(1);
    try (NDManager scope = out.newSubManager()) {
      // everything derived from the inputs lands in this scope and is freed with it
      for (NDArray in : new NDArray[] {ids, keyMask, positions, outputIndex}) {
        if (in != null) {
          in.tempAttach(scope);
        }
      }
      NDArray pos = positions != null ? positions : scope.arange(0, (int) len, 1, DataType.INT64).expandDims(0)
          .repeat(0, b);
      Rope r = ropeFor(pos);
      NDArray flatPos = pos.reshape(-1);
      NDArray cos = rows(r.cos(), flatPos).reshape(b, 1, len, config.headDim()); // [B,1,L,hd]
      NDArray sin = rows(r.sin(), flatPos).reshape(b, 1, len, config.headDim());
      NDArray h = rows(embedding, ids).toType(DataType.FLOAT32, false); // [B,L,d]
      for (int i = 0; i < layers.size(); i++) {
        // one sub-scope per layer: a forward's peak memory is one layer's activations
        try (NDManager ls = scope.newSubManager()) {
          h.attach(ls);
          NDArray next = block(i, layers.get(i), h, cos, sin, core);
          next.attach(scope);
          h = next;
        }
      }
      if (outputIndex != null) {
        long w = outputIndex.getShape().get(1);
        h = h.gather(outputIndex.reshape(b, w, 1).repeat(2, config.hiddenSize()), 1); // [B,W,d]
      }
      NDArray logits = linear(rmsNorm(h, finalNorm), head, null); // [B,W,V]
      logits.attach(out);
      return logits;
    }
  }

  private NDArray block(int index, Layer w, NDArray h, NDArray cos, NDArray sin, AttentionCore core) {
    long b = h.getShape().get(0);
    long len = h.getShape().get(1);
    int hd = config.headDim();
    int heads = config.numHeads();
    int kvHeads = config.numKvHeads();
    NDList qkv = linear(rmsNorm(h, w.attnNorm()), w.qkv(), w.qkvBias())
        .split(new long[] {(long) heads * hd, (long) (heads + kvHeads) * hd}, 2);
    NDArray q = rope(qkv.get(0).reshape(b, len, heads, hd).transpose(0, 2, 1, 3), cos, sin); // [B,H,L,hd]
    NDArray k = rope(qkv.get(1).reshape(b, len, kvHeads, hd).transpose(0, 2, 1, 3), cos, sin); // [B,Hkv,L,hd]
    NDArray v = qkv.get(2).reshape(b, len, kvHeads, hd).transpose(0, 2, 1, 3); // [B,Hkv,L,hd]
    h = h.add(linear(core.attend(index, q, k, v), w.out(), null));
    NDList gateUp = linear(rmsNorm(h, w.ffnNorm()), w.gateUp(), null).split(2, 2);
    NDArray gate = gateUp.get(0);
    NDArray act = gate.mul(Activation.sigmoid(gate)).mul(gateUp.get(1)); // SiLU(gate) * up
    return h.add(linear(act, w.down(), null));
  }

  /** Bidirectional attention over each whole sequence, pad keys masked. */
  private AttentionCore fullAttention(NDArray keyMask, Capture capture) {
    return (layer, q, k, v) -> {
      if (capture != null) {
        capture.layer(layer, k, v);
      }
      long b = q.getShape().get(0);
      long len = q.getShape().get(2);
      int hd = config.headDim();
      int kvHeads = config.numKvHeads();
      // GQA without copying K/V: query head h belongs to KV head h / groups, so fold the groups into rows
      NDArray qg = q.reshape(b, kvHeads, config.kvGroups() * len, hd); // [B,Hkv,G*L,hd]
      NDArray scores = qg.matMul(k.transpose(0, 1, 3, 2)).mul(1.0 / Math.sqrt(hd)); // [B,Hkv,G*L,L]
      if (keyMask != null) {
        scores = scores.add(padBias(keyMask, q.getManager()));
      }
      return scores.softmax(-1).matMul(v) // [B,Hkv,G*L,hd]
          .reshape(b, config.numHeads(), len, hd).transpose(0, 2, 1, 3).reshape(b, len, (long) config.numHeads() * hd);
    };
  }

  /**
   * Queries against their row's frozen keys plus their own fresh ones. Drafts of a row are adjacent
   * and share one cache: their queries are folded into one matmul against the single frozen copy,
   * while each attends to its own fresh keys (block-diagonal).
   */
  private AttentionCore cachedAttention(List<BlockCache> caches, NDArray queryMask) {
    return (layer, q, k, v) -> {
      long qLen = q.getShape().get(2);
      int hd = config.headDim();
      int kvHeads = config.numKvHeads();
      long gq = config.kvGroups() * qLen;
      double scale = 1.0 / Math.sqrt(hd);
      NDArray bias = queryMask == null ? null : padBias(queryMask, q.getManager()); // [N,1,1,Q]
      NDList outs = new NDList();
      for (int s = 0; s < caches.size(); ) {
        BlockCache c = caches.get(s);
        int e = s;
        while (e < caches.size() && caches.get(e) == c) {
          e++;
        }
        long n = e - s;
        NDIndex rows = new NDIndex("{}:{}", s, e);
        NDArray qg = q.get(rows).reshape(n, kvHeads, gq, hd); // [n,Hkv,G*Q,hd]
        NDArray fresh = qg.matMul(k.get(rows).transpose(0, 1, 3, 2)).mul(scale); // [n,Hkv,G*Q,Q]
        if (bias != null) {
          fresh = fresh.add(bias.get(rows));
        }
        NDArray fixedK = c.keys()[layer]; // [1,Hkv,F,hd]
        long f = fixedK.getShape().get(2);
        NDArray folded = qg.transpose(1, 0, 2, 3).reshape(1, kvHeads, n * gq, hd);
        NDArray fixed = folded.matMul(fixedK.transpose(0, 1, 3, 2)).mul(scale) // [1,Hkv,n*G*Q,F]
            .reshape(kvHeads, n, gq, f).transpose(1, 0, 2, 3); // [n,Hkv,G*Q,F]
        NDList p = fixed.concat(fresh, 3).softmax(-1).split(new long[] {f}, 3);
        NDArray fromFixed = p.get(0).transpose(1, 0, 2, 3).reshape(1, kvHeads, n * gq, f).matMul(c.values()[layer])
            .reshape(kvHeads, n, gq, hd).transpose(1, 0, 2, 3); // [n,Hkv,G*Q,hd]
        NDArray o = fromFixed.add(p.get(1).matMul(v.get(rows)));
        outs.add(o.reshape(n, config.numHeads(), qLen, hd).transpose(0, 2, 1, 3)
            .reshape(n, qLen, (long) config.numHeads() * hd));
        s = e;
      }
      return outs.size() == 1 ? outs.get(0) : NDArrays.concat(outs, 0);
    };
  }

  /** [B,L] keep-mask → additive [B,1,1,L] bias (0 or {@link #MASKED}). */
  private static NDArray padBias(NDArray keyMask, NDManager m) {
    long b = keyMask.getShape().get(0);
    long len = keyMask.getShape().get(1);
    NDArray bias = keyMask.toType(DataType.FLOAT32, false).neg().add(1).mul(MASKED).reshape(b, 1, 1, len);
    bias.attach(m);
    return bias;
  }

  /** RMSNorm in float32: x * rsqrt(mean(x²) + eps) * weight. */
  private NDArray rmsNorm(NDArray x, NDArray weight) {
    NDArray inv = x.square().mean(new int[] {-1}, true).add((float) config.rmsNormEps()).pow(-0.5);
    return x.mul(inv).mul(weight);
  }

  /** Half-rotation RoPE: x*cos + concat(-x2, x1)*sin. */
  private static NDArray rope(NDArray x, NDArray cos, NDArray sin) {
    NDList halves = x.split(2, 3);
    NDArray rotated = halves.get(1).neg().concat(halves.get(0), 3);
    return x.mul(cos).add(rotated.mul(sin));
  }

  /** y = x·Wᵀ (+ b) with W stored [out, in], as torch's linear; multiplied in W's dtype, returned in float32. */
  private static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
    NDArray in = x.toType(weight.getDataType(), false);
    return Linear.linear(in, weight, bias).singletonOrThrow().toType(DataType.FLOAT32, false);
  }

  /** Row gather: table[ids] with the shape of ids plus the row. */
  static NDArray rows(NDArray table, NDArray ids) {
    return Embedding.embedding(ids, table, SparseFormat.DENSE).singletonOrThrow();
  }

  private Rope ropeFor(NDArray positions) {
    int needed = (int) positions.max().getLong() + 1;
    Rope r = rope;
    if (r != null && r.size() >= needed) {
      return r;
    }
    synchronized (this) {
      if (rope != null && rope.size() >= needed) {
        return rope;
      }
      int size = Math.max(needed, Math.min(config.maxSequenceLength(), 4096));
      int half = invFreq.length;
      float[] cos = new float[size * half * 2];
      float[] sin = new float[size * half * 2];
      for (int p = 0; p < size; p++) {
        for (int j = 0; j < half; j++) {
          float angle = p * invFreq[j];
          float c = (float) Math.cos(angle);
          float s = (float) Math.sin(angle);
          cos[p * 2 * half + j] = c;
          cos[p * 2 * half + half + j] = c;
          sin[p * 2 * half + j] = s;
          sin[p * 2 * half + half + j] = s;
        }
      }
      // the old table stays in the model's manager: a concurrent forward may still read it
      rope = new Rope(size, manager.create(cos).reshape(size, 2L * half), manager.create(sin).reshape(size, 2L * half));
      return rope;
    }
  }

  @Override
  public void close() {
    manager.close();
  }
}
