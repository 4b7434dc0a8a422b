package dev.freedave.tools.train;

import dev.freedave.text.TextCodec;
import dev.freedave.tools.Npy;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Training examples as token ids: row i = prompt, solution, then EOS through the answer region
 * (and beyond, as padding); {@code promptLength[i]} marks where the answer region starts.
 */
public record TrainData(byte[] ids, int rows, int length, int[] promptLength, int genLength) {

  /** Tokenizes problems {@code [0, n)} of a split with the demo tokenizer. */
  public static TrainData build(TextCodec codec, long splitSeed, int n, int genLength) {
    int[][] prompts = new int[n][];
    int[][] answers = new int[n][];
    int maxPrompt = 0;
    for (int i = 0; i < n; i++) {
      ArithmeticProblems.Problem p = ArithmeticProblems.generate(splitSeed, i);
      prompts[i] = codec.encode(p.prompt());
      answers[i] = codec.encode(p.solution());
      if (answers[i].length >= genLength) {
        throw new IllegalStateException("solution of " + answers[i].length + " tokens does not fit gen_length "
            + genLength + ": " + p.solution());
      }
      if (Arrays.stream(prompts[i]).anyMatch(t -> t == DemoTokenizer.UNK)
          || Arrays.stream(answers[i]).anyMatch(t -> t == DemoTokenizer.UNK)) {
        throw new IllegalStateException("unknown word in: " + p.prompt() + " / " + p.solution());
      }
      maxPrompt = Math.max(maxPrompt, prompts[i].length);
    }
    int len = maxPrompt + genLength;
    byte[] ids = new byte[n * len];
    Arrays.fill(ids, (byte) DemoTokenizer.EOS);
    int[] promptLength = new int[n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < prompts[i].length; j++) {
        ids[i * len + j] = (byte) prompts[i][j];
      }
      for (int j = 0; j < answers[i].length; j++) {
        ids[i * len + prompts[i].length + j] = (byte) answers[i][j];
      }
      promptLength[i] = prompts[i].length;
    }
    return new TrainData(ids, n, len, promptLength, genLength);
  }

  public void write(Path dir) throws IOException {
    Npy.writeBytes(dir.resolve("train_ids.npy"), new long[] {rows, length}, ids);
    byte[] p = new byte[rows];
    for (int i = 0; i < rows; i++) {
      p[i] = (byte) promptLength[i];
    }
    Npy.writeBytes(dir.resolve("train_prompt_len.npy"), new long[] {rows}, p);
  }

  public static TrainData read(Path dir, int genLength) throws IOException {
    Npy.Array ids = Npy.read(dir.resolve("train_ids.npy"));
    Npy.Array p = Npy.read(dir.resolve("train_prompt_len.npy"));
    byte[] b = new byte[ids.longs().length];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) ids.longs()[i];
    }
    int[] pl = Arrays.stream(p.longs()).mapToInt(x -> (int) x).toArray();
    return new TrainData(b, ids.dim(0), ids.dim(1), pl, genLength);
  }

  public int token(int row, int pos) {
    return ids[row * length + pos] & 0xff;
  }
}
