package dev.freedave.model;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The diffusion-LM families this project reads (docs/checkpoints.md): what tells them apart in a
 * folder, where their tensors live, how they attend, and the special ids their released checkpoints
 * use when a file leaves them out. Everything family-specific is here and nowhere else.
 */
public enum ModelFamily {
  /** LLaDA (GSAI-ML): OLMo-style config keys, {@code model.transformer.*} tensors, position p read from logits p. */
  LLADA("llada", List.of("llada"), 126336, List.of(126081), 0, 4096, "<|mdm_mask|>", "<|eot_id|>", false, false,
      false),
  /** Dream (Qwen2 body): Qwen2 config keys, {@code model.*} tensors, position p read from logits p - 1. */
  DREAM("dream", List.of("dream", "qwen2"), 151666, List.of(151643), 1, 2048, "<|mask|>", "<|im_end|>", true, false,
      false),
  /**
   * SDAR and its fine-tune TraDo (block diffusion, Qwen3 body): Qwen3 config keys and {@code model.*}
   * tensors with a per-head RMSNorm on q and k, position p read from logits p, attention
   * bidirectional inside a block and causal across blocks. The config names no mask id: the
   * tokenizer files do ({@code mask_token}); 151669 is the id their authors' decoders default to.
   */
  SDAR("sdar", List.of("sdar"), 151669, List.of(151643), 0, 32768, "<|MASK|>", "<|im_end|>", true, true, true);

  /** The {@code model_type} a config.json of this family carries (compared without case). */
  public final String modelType;
  /** Every {@code model_type} read as this family; only {@link #modelType} itself implies the default ids. */
  public final List<String> aliases;
  public final int defaultMaskId;
  public final List<Integer> defaultEosIds;
  /** 0: position p is predicted by logits[p]; 1: by logits[p - 1]. */
  public final int predictionOffset;
  public final int defaultMaxSequenceLength;
  /** The mask token's name in the family's tokenizers; a tokenizer that gives it another id is refused. */
  public final String maskTokenName;
  /** The end-of-turn token of the family's chat format: an Instruct model ends its answer with it. */
  public final String endOfTurnToken;
  /**
   * Whether the residual stream stays float32 when the weights are float16: Qwen2-family
   * activations grow past float16's range, LLaDA's are run in the weights' dtype as its reference does.
   */
  public final boolean residualFp32;
  /** Whether each attention head's q and k pass through their own RMSNorm (Qwen3) before RoPE. */
  public final boolean qkNorm;
  /**
   * Whether attention is block-causal: a position sees its own block of the decoder's block length
   * and the blocks before it, so the keys and values of finished blocks never change.
   */
  public final boolean blockCausal;

  ModelFamily(String modelType, List<String> aliases, int defaultMaskId, List<Integer> defaultEosIds,
      int predictionOffset, int defaultMaxSequenceLength, String maskTokenName, String endOfTurnToken,
      boolean residualFp32, boolean qkNorm, boolean blockCausal) {
    this.modelType = modelType;
    this.aliases = aliases;
    this.defaultMaskId = defaultMaskId;
    this.defaultEosIds = defaultEosIds;
    this.predictionOffset = predictionOffset;
    this.defaultMaxSequenceLength = defaultMaxSequenceLength;
    this.maskTokenName = maskTokenName;
    this.endOfTurnToken = endOfTurnToken;
    this.residualFp32 = residualFp32;
    this.qkNorm = qkNorm;
    this.blockCausal = blockCausal;
  }

  /** The family of a {@code model_type}, or empty when it is none of ours. */
  public static Optional<ModelFamily> ofModelType(String type) {
    String t = type.toLowerCase(Locale.ROOT);
    for (ModelFamily f : values()) {
      if (f.aliases.contains(t)) {
        return Optional.of(f);
      }
    }
    return Optional.empty();
  }

  /**
   * The family of a {@code model_type}, refusing anything else with the supported names.
   *
   * @param source the file the type was read from, for the message
   */
  public static ModelFamily parse(String type, String source) {
    return ofModelType(type).orElseThrow(() -> new ModelLoadException(
        "unknown model_type '" + type + "' in " + source + " (supported: llada, Dream, qwen2, sdar)"));
  }

  /**
   * Whether a file of this {@code model_type} may rely on the family's default ids: a released
   * LLaDA, Dream or SDAR checkpoint may, a plain Qwen2 body (an autoregressive model) has no mask token.
   */
  public boolean defaultsApplyTo(String type) {
    return modelType.equalsIgnoreCase(type);
  }

  /** Lower-case name, as flags and messages spell it. */
  public String label() {
    return modelType;
  }

  /** A family named by a flag: its model_type or an alias, without case. */
  public static ModelFamily fromLabel(String s) {
    return ofModelType(s.trim()).orElseThrow(
        () -> new IllegalArgumentException("unknown model family '" + s + "' (llada, dream, sdar)"));
  }
}
