package dev.freedave.job;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import dev.freedave.io.Npy;
import dev.freedave.text.TextCodec;
import dev.freedave.train.ArithmeticProblems;
import dev.freedave.train.DemoTokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The demo model's data: the tokenizer it is trained with, the training split as token ids (the
 * trainers read these, so every trainer sees the very tokens Java decodes with), and the held-out
 * test split as a prompt dataset the Spark job and the bench read.
 */
@Command(name = "demo-data", description = "Write the arithmetic demo's tokenizer, training ids and test prompts")
final class DemoDataCommand implements Callable<Integer> {
  @Option(names = "--out", required = true) Path out;

  @Option(names = "--train", defaultValue = "200000", description = "training problems") int train;

  @Option(names = "--test", defaultValue = "1000", description = "held-out test problems") int test;

  @Option(names = "--gen-length", defaultValue = "64", description = "answer region (solution + EOS padding)")
  int genLength;

  @Override
  public Integer call() throws Exception {
    Files.createDirectories(out);
    Files.writeString(out.resolve("tokenizer.json"), DemoTokenizer.json(), StandardCharsets.UTF_8);
    try (TextCodec codec = TextCodec.load(out)) {
      List<int[]> prompts = new ArrayList<>();
      List<int[]> answers = new ArrayList<>();
      int maxPrompt = 0;
      for (int i = 0; i < train; i++) {
        ArithmeticProblems.Problem p = ArithmeticProblems.generate(ArithmeticProblems.TRAIN_SEED, i);
        int[] prompt = codec.encode(p.prompt());
        int[] answer = codec.encode(p.solution());
        if (answer.length >= genLength) {
          throw new IllegalStateException("solution of " + answer.length + " tokens does not fit gen_length "
              + genLength + ": " + p.solution());
        }
        if (Arrays.stream(prompt).anyMatch(t -> t == DemoTokenizer.UNK)
            || Arrays.stream(answer).anyMatch(t -> t == DemoTokenizer.UNK)) {
          throw new IllegalStateException("unknown word in: " + p.prompt() + " / " + p.solution());
        }
        prompts.add(prompt);
        answers.add(answer);
        maxPrompt = Math.max(maxPrompt, prompt.length);
      }
      int len = maxPrompt + genLength;
      byte[] ids = new byte[train * len];
      byte[] promptLen = new byte[train];
      for (int i = 0; i < train; i++) {
        int[] p = prompts.get(i);
        int[] a = answers.get(i);
        // prompt, solution, then EOS to the end of the answer region (and beyond: padding)
        Arrays.fill(ids, i * len, (i + 1) * len, (byte) DemoTokenizer.EOS);
        for (int j = 0; j < p.length; j++) {
          ids[i * len + j] = (byte) p[j];
        }
        for (int j = 0; j < a.length; j++) {
          ids[i * len + p.length + j] = (byte) a[j];
        }
        promptLen[i] = (byte) p.length;
      }
      Npy.writeBytes(out.resolve("train_ids.npy"), new long[] {train, len}, ids);
      Npy.writeBytes(out.resolve("train_prompt_len.npy"), new long[] {train}, promptLen);
      List<String> lines = new ArrayList<>();
      Gson gson = new GsonBuilder().disableHtmlEscaping().create();
      for (int i = 0; i < test; i++) {
        ArithmeticProblems.Problem p = ArithmeticProblems.generate(ArithmeticProblems.TEST_SEED, i);
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("id", "test-" + i);
        row.put("prompt", p.prompt());
        row.put("answer", Integer.toString(p.answer()));
        row.put("solution", p.solution());
        lines.add(gson.toJson(row));
      }
      Files.write(out.resolve("test.jsonl"), lines, StandardCharsets.UTF_8);
      Map<String, Object> meta = new LinkedHashMap<>();
      meta.put("vocab_size", DemoTokenizer.tokens().size());
      meta.put("eos_token_id", DemoTokenizer.EOS);
      meta.put("mask_token_id", DemoTokenizer.MASK);
      meta.put("gen_length", genLength);
      meta.put("max_prompt_length", maxPrompt);
      meta.put("train", train);
      meta.put("test", test);
      Files.writeString(out.resolve("meta.json"), new GsonBuilder().setPrettyPrinting().create().toJson(meta));
      System.out.println("wrote " + out + ": " + meta);
    }
    return 0;
  }
}
