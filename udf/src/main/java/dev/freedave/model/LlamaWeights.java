package dev.freedave.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.IValue;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's weights on the device in the layout the transformer core reads:
 * {@code [embedding, final norm, head]} then per layer {@code [attn norm, qkv, qkv bias, o, ffn
 * norm, gate|up, down]} and, for a family with q/k norms, {@code [q norm, k norm]}; q/k/v and gate/up
 * fused so each is one matmul, all in the compute dtype but the norms of a family whose residual
 * stream is float32 ({@link ModelFamily#residualFp32}), which are float32 like that stream: a norm's
 * input and weight share a dtype, so the core's RMSNorm is one op without casts (the checkpoints'
 * BF16 norm weights are exact in float16). A model without q/k/v bias holds an empty tensor in its slot.
 */
final class LlamaWeights {
  /** Tensors per layer of a config's family: 7, and the two q/k norms where it has them. */
  static int perLayer(ModelConfig c) {
    return c.family().qkNorm ? 9 : 7;
  }

  private final ModelConfig config;
  private final List<NDArray> tensors;
  private final IValue list;

  private LlamaWeights(ModelConfig config, List<NDArray> tensors) {
    this.config = config;
    this.tensors = tensors;
    this.list = IValue.listFrom(tensors.stream().map(t -> (PtNDArray) t).toArray(PtNDArray[]::new));
  }

  /** Every tensor's presence and shape is checked before any is read; a mismatch names the tensor. */
  static LlamaWeights load(Checkpoint ckpt, ModelConfig c, DataType dtype, NDManager m) throws IOException {
    WeightNames n = new WeightNames(c);
    ckpt.validate(n.expected());
    List<NDArray> t = new ArrayList<>();
    DataType norms = normDtype(c, dtype);
    NDArray embedding = ckpt.load(m, n.embedding(), dtype);
    t.add(embedding);
    t.add(ckpt.load(m, n.finalNorm(), norms));
    t.add(c.tiedEmbeddings() ? embedding : ckpt.load(m, n.head(), dtype));
    for (int i = 0; i < c.numLayers(); i++) {
      t.add(ckpt.load(m, n.layer(i, WeightNames.Part.ATTN_NORM), norms));
      t.add(fused(ckpt, m, dtype, n.layer(i, WeightNames.Part.Q), n.layer(i, WeightNames.Part.K),
          n.layer(i, WeightNames.Part.V)));
      t.add(c.qkvBias() ? fused(ckpt, m, dtype, n.layer(i, WeightNames.Part.Q_BIAS), n.layer(i, WeightNames.Part.K_BIAS),
          n.layer(i, WeightNames.Part.V_BIAS)) : m.zeros(new Shape(0), dtype));
      t.add(ckpt.load(m, n.layer(i, WeightNames.Part.O), dtype));
      t.add(ckpt.load(m, n.layer(i, WeightNames.Part.FFN_NORM), norms));
      t.add(fused(ckpt, m, dtype, n.layer(i, WeightNames.Part.GATE), n.layer(i, WeightNames.Part.UP)));
      t.add(ckpt.load(m, n.layer(i, WeightNames.Part.DOWN), dtype));
      if (c.family().qkNorm) {
        t.add(ckpt.load(m, n.layer(i, WeightNames.Part.Q_NORM), norms));
        t.add(ckpt.load(m, n.layer(i, WeightNames.Part.K_NORM), norms));
      }
    }
    return new LlamaWeights(c, t);
  }

  /**
   * Random weights of a config's shapes made on the device (normal, std 0.02; norms 1): what forward
   * cost measurements at real model sizes run on without reading a checkpoint.
   */
  static LlamaWeights random(ModelConfig c, DataType dtype, NDManager m) {
    long d = c.hiddenSize();
    long qkv = (long) (c.numHeads() + 2 * c.numKvHeads()) * c.headDim();
    DataType norms = normDtype(c, dtype);
    List<NDArray> t = new ArrayList<>();
    NDArray embedding = normal(m, dtype, c.vocabSize(), d);
    t.add(embedding);
    t.add(m.ones(new Shape(d), norms));
    t.add(c.tiedEmbeddings() ? embedding : normal(m, dtype, c.vocabSize(), d));
    for (int i = 0; i < c.numLayers(); i++) {
      t.add(m.ones(new Shape(d), norms));
      t.add(normal(m, dtype, qkv, d));
      t.add(c.qkvBias() ? normal(m, dtype, qkv) : m.zeros(new Shape(0), dtype));
      t.add(normal(m, dtype, d, (long) c.numHeads() * c.headDim()));
      t.add(m.ones(new Shape(d), norms));
      t.add(normal(m, dtype, 2L * c.intermediateSize(), d));
      t.add(normal(m, dtype, d, c.intermediateSize()));
      if (c.family().qkNorm) {
        t.add(m.ones(new Shape(c.headDim()), norms));
        t.add(m.ones(new Shape(c.headDim()), norms));
      }
    }
    return new LlamaWeights(c, t);
  }

  /** The norms' dtype: the residual stream's. */
  private static DataType normDtype(ModelConfig c, DataType dtype) {
    return c.family().residualFp32 ? DataType.FLOAT32 : dtype;
  }

  private static NDArray normal(NDManager m, DataType dtype, long... shape) {
    NDArray f = m.randomNormal(0f, 0.02f, new Shape(shape), DataType.FLOAT32);
    NDArray out = f.toType(dtype, false);
    if (out != f) {
      f.close();
    }
    return out;
  }

  private static NDArray fused(Checkpoint ckpt, NDManager m, DataType dt, String... names) throws IOException {
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

  /** The list every core call passes. */
  IValue list() {
    return list;
  }

  /** The tensors in the core's layout. */
  List<NDArray> tensors() {
    return tensors;
  }

  /** The trainable tensors, each once (a tied head is the embedding; no empty bias slots). */
  List<NDArray> parameters() {
    List<NDArray> p = new ArrayList<>();
    for (int i = 0; i < tensors.size(); i++) {
      NDArray t = tensors.get(i);
      boolean emptyBias = i >= 3 && (i - 3) % perLayer(config) == 2 && !config.qkvBias();
      if (!emptyBias && p.stream().noneMatch(x -> x == t)) {
        p.add(t);
      }
    }
    return p;
  }

  /** The weights as a checkpoint folder in the family's naming, fused tensors split back. */
  void save(Path dir, SafetensorsReader.DType storage) throws IOException {
    WeightNames n = new WeightNames(config);
    long q = (long) config.numHeads() * config.headDim();
    long kv = (long) config.numKvHeads() * config.headDim();
    Map<String, SafetensorsWriter.Tensor> out = new LinkedHashMap<>();
    put(out, n.embedding(), tensors.get(0));
    for (int i = 0; i < config.numLayers(); i++) {
      int b = 3 + perLayer(config) * i;
      put(out, n.layer(i, WeightNames.Part.ATTN_NORM), tensors.get(b));
      NDList qkv = tensors.get(b + 1).split(new long[] {q, q + kv}, 0);
      put(out, n.layer(i, WeightNames.Part.Q), qkv.get(0));
      put(out, n.layer(i, WeightNames.Part.K), qkv.get(1));
      put(out, n.layer(i, WeightNames.Part.V), qkv.get(2));
      if (config.qkvBias()) {
        NDList bias = tensors.get(b + 2).split(new long[] {q, q + kv}, 0);
        put(out, n.layer(i, WeightNames.Part.Q_BIAS), bias.get(0));
        put(out, n.layer(i, WeightNames.Part.K_BIAS), bias.get(1));
        put(out, n.layer(i, WeightNames.Part.V_BIAS), bias.get(2));
      }
      put(out, n.layer(i, WeightNames.Part.O), tensors.get(b + 3));
      put(out, n.layer(i, WeightNames.Part.FFN_NORM), tensors.get(b + 4));
      NDList gu = tensors.get(b + 5).split(2, 0);
      put(out, n.layer(i, WeightNames.Part.GATE), gu.get(0));
      put(out, n.layer(i, WeightNames.Part.UP), gu.get(1));
      put(out, n.layer(i, WeightNames.Part.DOWN), tensors.get(b + 6));
      if (config.family().qkNorm) {
        put(out, n.layer(i, WeightNames.Part.Q_NORM), tensors.get(b + 7));
        put(out, n.layer(i, WeightNames.Part.K_NORM), tensors.get(b + 8));
      }
    }
    put(out, n.finalNorm(), tensors.get(1));
    if (!config.tiedEmbeddings()) {
      put(out, n.head(), tensors.get(2));
    }
    CheckpointWriter.write(dir, config, out, storage, 1);
  }

  private static void put(Map<String, SafetensorsWriter.Tensor> out, String name, NDArray a) {
    out.put(name, new SafetensorsWriter.Tensor(a.getShape().getShape(),
        a.stopGradient().toType(DataType.FLOAT32, false).toFloatArray()));
  }

  void close() {
    list.close();
  }
}
