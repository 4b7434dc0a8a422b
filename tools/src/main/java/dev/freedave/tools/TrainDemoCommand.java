package dev.freedave.tools;

import ai.djl.Device;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.freedave.model.ComputeDtype;
import dev.freedave.model.LlamaFamilyModel;
import dev.freedave.model.ModelFolder;
import dev.freedave.model.SafetensorsReader;
import dev.freedave.tools.train.DiffusionTrainer;
import dev.freedave.tools.train.TrainData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Trains (or fine-tunes) the demo model in Java with DJL autograd on `demo-data` output and writes
 * an HF-style folder in LLaDA naming. The embedded model was trained by notebooks/train_demo.py on a
 * GPU (same objective, same data, same folder format); this trainer runs anywhere DJL does.
 */
@Command(name = "train-demo", mixinStandardHelpOptions = true, description = "Train or fine-tune the arithmetic demo model with DJL autograd")
final class TrainDemoCommand implements Callable<Integer> {
  @Option(names = "--data", required = true, description = "folder written by demo-data") Path data;

  @Option(names = "--out", required = true) Path out;

  @Option(names = "--init", description = "start from this checkpoint folder (default: random init)") Path init;

  @Option(names = "--steps", defaultValue = "500") int steps;

  @Option(names = "--batch", defaultValue = "32") int batch;

  @Option(names = "--lr", defaultValue = "1e-3") double lr;

  @Option(names = "--warmup", defaultValue = "50") int warmup;

  @Option(names = "--hidden", defaultValue = "128") int hidden;

  @Option(names = "--layers", defaultValue = "4") int layers;

  @Option(names = "--heads", defaultValue = "4") int heads;

  @Option(names = "--ffn", defaultValue = "384") int ffn;

  @Option(names = "--eval-every", defaultValue = "100") int evalEvery;

  @Option(names = "--seed", defaultValue = "0") long seed;

  @Option(names = "--storage", defaultValue = "BF16", description = "F32 or BF16") SafetensorsReader.DType storage;

  @Override
  public Integer call() throws Exception {
    JsonObject meta = JsonParser.parseString(Files.readString(data.resolve("meta.json"))).getAsJsonObject();
    int gen = meta.get("gen_length").getAsInt();
    String tokenizer = Files.readString(data.resolve("tokenizer.json"));
    TrainData train = TrainData.read(data, gen);
    Path start = init;
    if (start == null) {
      start = Files.createTempDirectory("freedave-init");
      DiffusionTrainer.writeInitialCheckpoint(start, meta.get("vocab_size").getAsInt(), hidden, layers, heads, ffn,
          meta.get("mask_token_id").getAsInt(), meta.get("eos_token_id").getAsInt(), seed);
    }
    int heldOutRows = Math.min(1000, train.rows() / 10); // the last rows never train
    int[] heldOut = new int[Math.min(256, heldOutRows)];
    for (int i = 0; i < heldOut.length; i++) {
      heldOut[i] = train.rows() - 1 - i;
    }
    List<Map<String, Object>> curve = new ArrayList<>();
    try (LlamaFamilyModel model = (LlamaFamilyModel) ModelFolder.open(start).loadModel(ComputeDtype.FLOAT32,
        Device.cpu())) {
      DiffusionTrainer trainer = new DiffusionTrainer(model, train, lr, warmup, steps);
      Random rnd = new Random(seed);
      long t0 = System.nanoTime();
      for (int s = 1; s <= steps; s++) {
        float loss = trainer.step(rnd, batch, train.rows() - heldOutRows);
        if (s % evalEvery == 0 || s == steps) {
          float held = trainer.evaluate(heldOut, 1234);
          double secs = (System.nanoTime() - t0) / 1e9;
          System.out.printf(Locale.ROOT, "step %d train_loss %.4f heldout_loss %.4f %.2f s/step%n", s, loss, held,
              secs / s);
          Map<String, Object> point = new LinkedHashMap<>();
          point.put("step", s);
          point.put("train_loss", loss);
          point.put("heldout_loss", held);
          curve.add(point);
        }
      }
      model.save(out, storage);
    }
    Files.writeString(out.resolve("tokenizer.json"), tokenizer);
    Map<String, Object> record = new LinkedHashMap<>();
    record.put("trainer", "freedave train-demo (DJL autograd, CPU)");
    record.put("args", String.format(Locale.ROOT, "--steps %d --batch %d --lr %s --warmup %d --seed %d%s", steps,
        batch, lr, warmup, seed, init == null ? String.format(Locale.ROOT, " --hidden %d --layers %d --heads %d --ffn %d",
            hidden, layers, heads, ffn) : " --init " + init));
    record.put("curve", curve);
    Files.writeString(out.resolve("TRAINING.json"), new GsonBuilder().setPrettyPrinting().create().toJson(record));
    System.out.println("wrote " + out);
    return 0;
  }
}
