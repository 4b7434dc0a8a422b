package dev.freedave.tools;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import dev.freedave.model.ComputeDtype;
import dev.freedave.model.LlamaFamilyModel;
import dev.freedave.model.ModelFolder;
import dev.freedave.model.SafetensorsReader;
import dev.freedave.text.TextCodec;
import dev.freedave.tools.train.ArithmeticProblems;
import dev.freedave.tools.train.DemoTokenizer;
import dev.freedave.tools.train.DiffusionTrainer;
import dev.freedave.tools.train.TrainData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A few training steps lower the held-out loss, and the trained weights round-trip through a checkpoint. */
class DiffusionTrainerTest {
  @TempDir Path tmp;

  private static LlamaFamilyModel load(Path dir) throws Exception {
    return (LlamaFamilyModel) ModelFolder.open(dir).loadModel(ComputeDtype.FLOAT32, Device.cpu());
  }

  @Test
  void fewStepsLowerTheLossAndTheCheckpointReloads() throws Exception {
    Path dir = tmp.resolve("model");
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("tokenizer.json"), DemoTokenizer.json());
    TrainData data;
    try (TextCodec codec = TextCodec.load(dir)) {
      data = TrainData.build(codec, ArithmeticProblems.TRAIN_SEED, 300, 64);
    }
    DiffusionTrainer.writeInitialCheckpoint(dir, DemoTokenizer.tokens().size(), 32, 2, 4, 64, DemoTokenizer.MASK,
        DemoTokenizer.EOS, 7);
    int[] heldOut = {260, 270, 280, 290, 299};
    float before;
    float after;
    float reloaded;
    try (LlamaFamilyModel model = load(dir)) {
      DiffusionTrainer trainer = new DiffusionTrainer(model, data, 3e-3, 5, 40);
      before = trainer.evaluate(heldOut, 11);
      Random rnd = new Random(0);
      for (int i = 0; i < 40; i++) {
        trainer.step(rnd, 16, 250);
      }
      after = trainer.evaluate(heldOut, 11);
      model.save(tmp.resolve("trained"), SafetensorsReader.DType.F32);
    }
    assertThat(after).as("held-out loss %s -> %s", before, after).isLessThan(0.7f * before);
    Files.writeString(tmp.resolve("trained/tokenizer.json"), DemoTokenizer.json());
    try (LlamaFamilyModel model = load(tmp.resolve("trained"))) {
      reloaded = new DiffusionTrainer(model, data, 0, 1, 1).evaluate(heldOut, 11);
    }
    assertThat(reloaded).isCloseTo(after, org.assertj.core.data.Percentage.withPercentage(0.1));
  }
}
