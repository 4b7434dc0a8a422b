package dev.freedave.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.freedave.model.ModelLoadException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Text ↔ ids through a model folder's own {@code tokenizer.json} (never a hub id). Special tokens
 * are never added: prompt templates carry their own.
 */
public final class TextCodec implements AutoCloseable {
  private final HuggingFaceTokenizer tokenizer;

  private TextCodec(HuggingFaceTokenizer tokenizer) {
    this.tokenizer = tokenizer;
  }

  public static TextCodec load(Path modelDir) throws IOException {
    Path file = modelDir.resolve("tokenizer.json");
    if (!Files.isRegularFile(file)) {
      throw new ModelLoadException("no tokenizer.json in model folder " + modelDir);
    }
    // no truncation, no padding: prompts keep every token and the decoder pads batches itself
    HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(file,
        Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false", "maxLength", "1000000"));
    return new TextCodec(t);
  }

  public int[] encode(String text) {
    Encoding e = tokenizer.encode(text, false, false);
    long[] ids = e.getIds();
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = Math.toIntExact(ids[i]);
    }
    return out;
  }

  /** Text of the ids, special tokens skipped. */
  public String decode(int[] ids) {
    long[] l = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      l[i] = ids[i];
    }
    return tokenizer.decode(l, true);
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
