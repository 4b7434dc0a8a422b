package dev.freedave.text;

import dev.freedave.model.ModelLoadException;
import dev.freedave.text.TextCodec;
import java.util.List;
import java.util.Locale;

/**
 * Prompt wrapping for instruction-tuned checkpoints (docs/checkpoints.md). {@code none} passes the text
 * through, which is what the embedded demo model and base models expect.
 */
public enum ChatTemplate {
  NONE,
  /** LLaDA-8B-Instruct: header tokens, trimmed content, always ends with the assistant header. */
  LLADA,
  /** Dream / Qwen2 ChatML with the default system turn. */
  CHATML,
  /** SDAR / TraDo (Qwen3 bodies): ChatML with no system turn, as Qwen3's template renders a lone user turn. */
  QWEN3;

  public static ChatTemplate parse(String s) {
    return switch (s.trim().toLowerCase(Locale.ROOT)) {
      case "none", "" -> NONE;
      case "llada" -> LLADA;
      case "chatml", "dream", "qwen2" -> CHATML;
      case "qwen3", "sdar", "trado" -> QWEN3;
      default -> throw new IllegalArgumentException("unknown chat template '" + s + "' (none, llada, chatml, qwen3)");
    };
  }

  /**
   * One user turn, rendered as the model's own template renders it: LLaDA's Jinja template (its
   * tokenizer_config.json) is checked against transformers' apply_chat_template in ChatTemplateTest.
   */
  public String apply(String user) {
    return switch (this) {
      case NONE -> user;
      case LLADA -> "<|startoftext|><|start_header_id|>user<|end_header_id|>\n\n" + pythonStrip(user)
          + "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
      case CHATML -> "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n" + user
          + "<|im_end|>\n<|im_start|>assistant\n";
      case QWEN3 -> "<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n";
    };
  }

  /** The special tokens the template writes; each must be one added token of the tokenizer. */
  public List<String> specialTokens() {
    return switch (this) {
      case NONE -> List.of();
      case LLADA -> List.of("<|startoftext|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>");
      case CHATML, QWEN3 -> List.of("<|im_start|>", "<|im_end|>");
    };
  }

  /** Refuses a tokenizer that would split the template's special tokens into ordinary text. */
  public void validate(TextCodec codec) {
    List<String> missing = specialTokens().stream().filter(t -> codec.addedTokenId(t) == null).toList();
    if (!missing.isEmpty()) {
      throw new ModelLoadException("chat template '" + name().toLowerCase(Locale.ROOT) + "' needs the special tokens "
          + missing + ", which this tokenizer does not have (a base model has no chat template: use "
          + "chat-template = none)");
    }
  }

  /** Jinja's trim is Python's str.strip(): Unicode whitespace, not just the ASCII range of String.trim(). */
  static String pythonStrip(String s) {
    int a = 0;
    int b = s.length();
    while (a < b && isPythonSpace(s.charAt(a))) {
      a++;
    }
    while (b > a && isPythonSpace(s.charAt(b - 1))) {
      b--;
    }
    return s.substring(a, b);
  }

  private static boolean isPythonSpace(char c) {
    return Character.isWhitespace(c) || Character.isSpaceChar(c) || (c >= 0x1c && c <= 0x1f) || c == 0x85;
  }
}
