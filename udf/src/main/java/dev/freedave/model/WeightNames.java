package dev.freedave.model;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Tensor names and expected shapes of a config's checkpoint, in its family's naming
 * (docs/checkpoints.md): LLaDA's {@code model.transformer.*}, or the Qwen names Dream and SDAR share.
 */
public final class WeightNames {
  private final ModelConfig c;
  private final boolean llada;

  public WeightNames(ModelConfig config) {
    this.c = config;
    this.llada = config.family() == ModelFamily.LLADA;
  }

  public String embedding() {
    return llada ? "model.transformer.wte.weight" : "model.embed_tokens.weight";
  }

  public String finalNorm() {
    return llada ? "model.transformer.ln_f.weight" : "model.norm.weight";
  }

  /** The LM head; equals {@link #embedding()} when the config ties them. */
  public String head() {
    if (c.tiedEmbeddings()) {
      return embedding();
    }
    return llada ? "model.transformer.ff_out.weight" : "lm_head.weight";
  }

  /** Names inside block {@code i}. */
  public String layer(int i, Part part) {
    return llada ? "model.transformer.blocks." + i + "." + part.llada : "model.layers." + i + "." + part.dream;
  }

  /** The Llama roles of a block's tensors, with each family's name. */
  public enum Part {
    ATTN_NORM("attn_norm.weight", "input_layernorm.weight"),
    Q("q_proj.weight", "self_attn.q_proj.weight"),
    K("k_proj.weight", "self_attn.k_proj.weight"),
    V("v_proj.weight", "self_attn.v_proj.weight"),
    Q_BIAS("q_proj.bias", "self_attn.q_proj.bias"),
    K_BIAS("k_proj.bias", "self_attn.k_proj.bias"),
    V_BIAS("v_proj.bias", "self_attn.v_proj.bias"),
    /** per-head RMSNorm weights of q and k, [head_dim] (SDAR; no LLaDA checkpoint has them) */
    Q_NORM(null, "self_attn.q_norm.weight"),
    K_NORM(null, "self_attn.k_norm.weight"),
    O("attn_out.weight", "self_attn.o_proj.weight"),
    FFN_NORM("ff_norm.weight", "post_attention_layernorm.weight"),
    GATE("ff_proj.weight", "mlp.gate_proj.weight"),
    UP("up_proj.weight", "mlp.up_proj.weight"),
    DOWN("ff_out.weight", "mlp.down_proj.weight");

    final String llada;
    final String dream;

    Part(String llada, String dream) {
      this.llada = llada;
      this.dream = dream;
    }
  }

  /** Every tensor the config implies, in load order, with its [out, in] shape (the tied head once). */
  public Map<String, long[]> expected() {
    long d = c.hiddenSize();
    long q = (long) c.numHeads() * c.headDim();
    long kv = (long) c.numKvHeads() * c.headDim();
    long f = c.intermediateSize();
    Map<String, long[]> m = new LinkedHashMap<>();
    m.put(embedding(), new long[] {c.vocabSize(), d});
    for (int i = 0; i < c.numLayers(); i++) {
      m.put(layer(i, Part.ATTN_NORM), new long[] {d});
      m.put(layer(i, Part.Q), new long[] {q, d});
      m.put(layer(i, Part.K), new long[] {kv, d});
      m.put(layer(i, Part.V), new long[] {kv, d});
      if (c.qkvBias()) {
        m.put(layer(i, Part.Q_BIAS), new long[] {q});
        m.put(layer(i, Part.K_BIAS), new long[] {kv});
        m.put(layer(i, Part.V_BIAS), new long[] {kv});
      }
      if (c.family().qkNorm) {
        m.put(layer(i, Part.Q_NORM), new long[] {c.headDim()});
        m.put(layer(i, Part.K_NORM), new long[] {c.headDim()});
      }
      m.put(layer(i, Part.O), new long[] {d, q});
      m.put(layer(i, Part.FFN_NORM), new long[] {d});
      m.put(layer(i, Part.GATE), new long[] {f, d});
      m.put(layer(i, Part.UP), new long[] {f, d});
      m.put(layer(i, Part.DOWN), new long[] {d, f});
    }
    m.put(finalNorm(), new long[] {d});
    m.put(head(), new long[] {c.vocabSize(), d});
    return m;
  }
}
