package dev.freedave.tools;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import dev.freedave.text.TextCodec;
import dev.freedave.tools.train.ArithmeticProblems;
import dev.freedave.tools.train.DemoTokenizer;
import dev.freedave.tools.train.TrainData;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
@Command(name = "demo-data", mixinStandardHelpOptions = true, description = "Write the arithmetic demo's tokenizer, training ids and test prompts")
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
    try (TextCodec codec = TextCodec.fromJson(DemoTokenizer.json(), out)) {
      TrainData data = TrainData.build(codec, ArithmeticProblems.TRAIN_SEED, train, genLength);
      data.write(out);
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
      meta.put("max_prompt_length", data.length() - genLength);
      meta.put("train", train);
      meta.put("test", test);
      Files.writeString(out.resolve("meta.json"), new GsonBuilder().setPrettyPrinting().create().toJson(meta));
      System.out.println("wrote " + out + ": " + meta);
    }
    return 0;
  }
}
