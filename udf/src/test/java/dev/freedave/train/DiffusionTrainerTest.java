package dev.freedave.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.freedave.model.LlamaFamilyModel;
import dev.freedave.model.ModelConfig;
import dev.freedave.model.SafetensorsReader;
import dev.freedave.model.TinyModels;
import dev.freedave.text.TextCodec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A few training steps lower the held-out loss, and the trained weights round-trip through a checkpoint. */
class DiffusionTrainerTest {
  @TempDir Path tmp;

  @Test
  void fewStepsLowerTheLossAndTheCheckpointReloads() throws Exception {
    Path dir = tmp.resolve("model");
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("tokenizer.json"), DemoTokenizer.json());
    TrainData data;
    try (TextCodec codec = TextCodec.load(dir)) {
      data = TrainData.build(codec, ArithmeticProblems.TRAIN_SEED, 300, 64);
    }
    TinyModels.Spec spec = new TinyModels.Spec(ModelConfig.Family.LLADA, DemoTokenizer.tokens().size(), 32, 2, 4, 4,
        64, SafetensorsReader.DType.F32, 1, 7);
    TinyModels.write(dir, spec, DemoTokenizer.MASK, DemoTokenizer.EOS, DemoTokenizer.json());
    int[] heldOut = {260, 270, 280, 290, 299};
    float before;
    float after;
    float reloaded;
    try (LlamaFamilyModel model = LlamaFamilyModel.load(dir, DataType.FLOAT32, Device.cpu())) {
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
    try (LlamaFamilyModel model = LlamaFamilyModel.load(tmp.resolve("trained"), DataType.FLOAT32, Device.cpu())) {
      reloaded = new DiffusionTrainer(model, data, 0, 1, 1).evaluate(heldOut, 11);
    }
    assertThat(reloaded).isCloseTo(after, org.assertj.core.data.Percentage.withPercentage(0.1));
  }
}
