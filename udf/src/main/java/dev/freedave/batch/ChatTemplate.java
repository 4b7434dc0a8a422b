package dev.freedave.batch;

import java.util.Locale;

/**
 * Prompt wrapping for instruction-tuned checkpoints (models.md §5). {@code none} passes the text
 * through, which is what the embedded demo model and base models expect.
 */
public enum ChatTemplate {
  NONE,
  /** LLaDA-8B-Instruct: header tokens, trimmed content, always ends with the assistant header. */
  LLADA,
  /** Dream / Qwen2 ChatML with the default system turn. */
  CHATML;

  public static ChatTemplate parse(String s) {
    return switch (s.trim().toLowerCase(Locale.ROOT)) {
      case "none", "" -> NONE;
      case "llada" -> LLADA;
      case "chatml", "dream", "qwen2" -> CHATML;
      default -> throw new IllegalArgumentException("unknown chat template '" + s + "' (none, llada, chatml)");
    };
  }

  public String apply(String user) {
    return switch (this) {
      case NONE -> user;
      case LLADA -> "<|startoftext|><|start_header_id|>user<|end_header_id|>\n\n" + user.trim()
          + "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
      case CHATML -> "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n" + user
          + "<|im_end|>\n<|im_start|>assistant\n";
    };
  }
}
