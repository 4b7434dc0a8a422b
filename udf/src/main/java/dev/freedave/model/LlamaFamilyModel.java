package dev.freedave.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The Llama-style block family of LLaDA, Dream and SDAR: one class for all, the config decides GQA,
 * q/k/v bias, q/k norms, tying and whether attention is bidirectional or block-causal. The layers run in the scripted
 * {@link TransformerCore}, one call per forward; this class turns the decoders' requests into that
 * call's inputs (positions, masks, the cache layout), all built on the host so a forward never waits
 * for the device.
 *
 * <p>Numerics: norms and softmax in float32; with {@code float16} the matrices are stored and
 * multiplied in fp16, and the residual stream is fp16 for LLaDA but float32 for Dream, whose Qwen2
 * activations overflow fp16 (docs/checkpoints.md).
 */
public final class LlamaFamilyModel implements DiffusionLM {
  private final ModelConfig config;
  private final ModelSpec spec;
  private final NDManager manager;
  private final LlamaWeights weights;
  private final RopeTable rope;
  private final TransformerCore core;

  private LlamaFamilyModel(ModelConfig config, ModelSpec spec, NDManager manager, LlamaWeights weights,
      RopeTable rope, TransformerCore core) {
    this.config = config;
    this.spec = spec;
    this.manager = manager;
    this.weights = weights;
    this.rope = rope;
    this.core = core;
  }

  /**
   * @param spec null when the config names no mask id (the model computes logits but cannot be decoded)
   */
  static LlamaFamilyModel load(Path dir, ModelConfig config, ModelSpec spec, ComputeDtype dtype, Device device)
      throws IOException {
    DjlOffline.apply();
    NDManager manager = NDManager.newBaseManager(device, "PyTorch");
    try (Checkpoint ckpt = Checkpoint.open(dir)) {
      LlamaWeights weights = LlamaWeights.load(ckpt, config, dtype.djl(), manager);
      TransformerCore core = TransformerCore.load(config, dtype, device);
      return new LlamaFamilyModel(config, spec, manager, weights, new RopeTable(config, dtype.djl(), manager), core);
    } catch (RuntimeException | IOException e) {
      manager.close();
      throw e;
    }
  }

  /**
   * A model of {@code config}'s shapes with random weights made on the device (see
   * {@link LlamaWeights#random}), for forward cost measurements at real sizes; its spec is the config's.
   */
  public static LlamaFamilyModel random(ModelConfig config, ComputeDtype dtype, Device device) throws IOException {
    DjlOffline.apply();
    NDManager manager = NDManager.newBaseManager(device, "PyTorch");
    try {
      LlamaWeights weights = LlamaWeights.random(config, dtype.djl(), manager);
      TransformerCore core = TransformerCore.load(config, dtype, device);
      return new LlamaFamilyModel(config, ModelSpec.of(config), manager, weights,
          new RopeTable(config, dtype.djl(), manager), core);
    } catch (RuntimeException | IOException e) {
      manager.close();
      throw e;
    }
  }

  /**
   * The trainable tensors, as held in memory (q/k/v and gate/up fused): a trainer marks them for
   * gradients and updates them in place.
   */
  public List<NDArray> parameters() {
    return weights.parameters();
  }

  /** Writes the weights as a checkpoint folder with its config.json; the caller adds the tokenizer. */
  public void save(Path dir, SafetensorsReader.DType storage) throws IOException {
    weights.save(dir, storage);
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
    return full(ids, keyMask, positions, outputIndex, 0);
  }

  @Override
  public NDArray logitsBlockCausal(NDArray ids, NDArray keyMask, NDArray outputIndex, int block) {
    return full(ids, keyMask, null, outputIndex, block);
  }

  /** A forward over whole rows; positions null = 0 .. len-1 per row; block > 0 = block-causal. */
  private NDArray full(NDArray ids, NDArray keyMask, NDArray positions, NDArray outputIndex, int block) {
    int b = (int) ids.getShape().get(0);
    int len = (int) ids.getShape().get(1);
    NDManager m = ids.getManager();
    try (NDManager scope = m.newSubManager()) {
      NDArray pos = positions != null ? positions : rowPositions(scope, b, len);
      int maxPos = positions != null ? (int) positions.max().getLong() + 1 : len;
      NDArray index = outputIndex != null ? outputIndex : rowPositions(scope, b, len);
      NDArray logits = core.full(ids, pos, keyMask, block, index, rope.upTo(maxPos), weights.list());
      logits.attach(m);
      return logits;
    }
  }

  /**
   * Every position's logits with autograd, for training: the same layers through DJL's training
   * entry into the core.
   */
  public NDArray trainingLogits(NDArray ids, NDArray keyMask) {
    int b = (int) ids.getShape().get(0);
    int len = (int) ids.getShape().get(1);
    RopeTable.Tables t = rope.upTo(len);
    NDManager m = ids.getManager();
    return core.trainLogits(ids, rowPositions(m, b, len), keyMask, t.cos(), t.sin(), weights.tensors());
  }

  @Override
  public Picks greedy(NDArray logits, int excluded) {
    return core.greedy(logits, excluded);
  }

  @Override
  public boolean supportsCache() {
    return true;
  }

  @Override
  public NDArray logitsFillingCache(NDArray ids, NDArray keyMask, NDArray outputIndex, int[] lengths,
      int[] queryStart, int[] queryEnd, CacheMode mode, int block, List<BlockCache> out) {
    int b = (int) ids.getShape().get(0);
    int len = (int) ids.getShape().get(1);
    NDManager m = ids.getManager();
    List<BlockCache> caches = new ArrayList<>();
    try (NDManager scope = m.newSubManager()) {
      NDList result = core.fill(ids, rowPositions(scope, b, len), keyMask, block, outputIndex, rope.upTo(len),
          weights.list());
      NDArray keys = result.get(1); // [B, layers, 1, Hkv, L, hd]
      NDArray values = result.get(2);
      FillBatch batch = new FillBatch(manager.newSubManager(), keys, values, b);
      for (int i = 0; i < b; i++) {
        // every row keeps the fill's whole (padded) length, so rows of one length stack in one copy
        try {
          caches.add(cacheOf(keys.get(i), values.get(i), CacheFill.of(mode, block, len, lengths[i], queryStart[i],
              queryEnd[i]), batch, i));
        } catch (RuntimeException e) {
          for (int j = i; j < b; j++) {
            batch.release(); // the rows that will have no cache
          }
          throw e;
        }
      }
      NDArray logits = result.get(0);
      logits.attach(m);
      out.addAll(caches);
      return logits;
    } catch (RuntimeException e) {
      caches.forEach(BlockCache::close);
      throw e;
    }
  }

  /**
   * A fill's frozen keys and values of one row, [layers, 1, Hkv, L, hd] each, as that row's cache:
   * row {@code row} of {@code batch}, or its own (batch null).
   */
  private BlockCache cacheOf(NDArray keys, NDArray values, CacheFill f, FillBatch batch, int row) {
    NDManager own = manager.newSubManager();
    keys.attach(own);
    values.attach(own);
    return new BlockCache(own, keys, values, f.length(), f.visibleEnd(), f.queryStart(), f.queryEnd(), f.queryStart(),
        f.queryEnd(), batch, row);
  }

  @Override
  public NDArray logitsWithCache(List<BlockCache> caches, NDArray ids, NDArray positions, NDArray drafts,
      NDArray outputIndex, int block, int[] commitTo, CacheFill[] fills, BlockCache[] grown) {
    int r = caches.size();
    int t = (int) ids.getShape().get(1);
    BlockCache standIn = caches.stream().filter(Objects::nonNull).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("a cached forward needs at least one row with a cache"));
    int frozen = 0;
    int maxPos = 0;
    boolean fresh = false;
    for (int i = 0; i < r; i++) {
      BlockCache c = caches.get(i);
      if (c == null) { // a row filling its cache: it queries [0, length) and sees none of the stand-in's keys
        maxPos = Math.max(maxPos, fills[i].length());
        fresh = true;
        continue;
      }
      frozen = Math.max(frozen, c.frozenLength());
      // a block-causal row's queries start at its cache's end: the host knows the largest position
      maxPos = Math.max(maxPos, block > 0 ? c.visibleEnd() + t : c.queryEnd());
      fresh |= commitTo != null && commitTo[i] > c.visibleEnd();
    }
    boolean[] keep = new boolean[r * frozen];
    List<BlockCache> rows = new ArrayList<>(r);
    for (int i = 0; i < r; i++) {
      BlockCache c = caches.get(i);
      rows.add(c == null ? standIn : c);
      for (int p = 0; c != null && p < frozen; p++) {
        keep[i * frozen + p] = c.visible(p);
      }
    }
    NDManager m = ids.getManager();
    try (NDManager scope = m.newSubManager()) {
      NDArray keyKeep = scope.create(keep, new Shape(r, frozen));
      NDList out = core.cached(ids, positions, drafts, keyKeep, block, rows, outputIndex, rope.upTo(maxPos),
          weights.list(), fresh);
      for (int i = 0; fresh && i < r; i++) {
        BlockCache c = caches.get(i);
        if (c == null) {
          // copied out of the call's buffer, which holds every row: the cache outlives the call
          NDIndex row = new NDIndex("{}, :, :, :, :{}", i, fills[i].length());
          grown[i] = cacheOf(out.get(1).get(row).duplicate(), out.get(2).get(row).duplicate(), fills[i], null, 0);
        } else if (commitTo != null && commitTo[i] > c.visibleEnd()) {
          NDIndex row = new NDIndex("{}, :, :, :, :{}", i, commitTo[i] - c.visibleEnd());
          grown[i] = appended(c, out.get(1).get(row), out.get(2).get(row), commitTo[i]);
        }
      }
      NDArray logits = out.get(0);
      logits.attach(m);
      return logits;
    }
  }

  /**
   * A new cache holding {@code c}'s visible keys/values and then the fresh ones of a forward whose
   * queries began at its visible end, up to position {@code to}: {@code freshK}, {@code freshV}
   * [layers, 1, Hkv, to - visibleEnd, hd] each.
   */
  private BlockCache appended(BlockCache c, NDArray freshK, NDArray freshV, int to) {
    NDManager own = manager.newSubManager();
    try {
      NDIndex kept = new NDIndex(":, :, :, :{}", c.visibleEnd());
      NDArray k = c.keys().get(kept).concat(freshK, 3);
      NDArray v = c.values().get(kept).concat(freshV, 3);
      k.attach(own);
      v.attach(own);
      return new BlockCache(own, k, v, to, to, to, to, to, to, null, 0);
    } catch (RuntimeException e) {
      own.close();
      throw e;
    }
  }

  /** [B, L] positions 0..L-1 in every row. */
  private static NDArray rowPositions(NDManager m, int b, int len) {
    long[] pos = new long[b * len];
    for (int i = 0; i < pos.length; i++) {
      pos[i] = i % len;
    }
    return m.create(pos, new Shape(b, len));
  }

  @Override
  public void close() {
    weights.close();
    core.close();
    manager.close();
  }
}
