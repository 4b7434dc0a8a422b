package dev.freedave.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.freedave.decode.DecodeConfig;
import dev.freedave.decode.DecodeRequest;
import dev.freedave.decode.DecodeResult;
import dev.freedave.decode.DecodeScheduler;
import dev.freedave.testkit.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * TorchScript exports (notebooks/export_torchscript.py, torch 2.11) of tiny random HF models in both
 * namings, run through DJL's libtorch: the same logits as the same weights loaded natively, and the
 * same decoded tokens for static and FreeDave. (Their logits against Python's: tools' GoldenParityTest.)
 */
class TorchScriptModelTest {
  static Path fixture(String kind) {
    return Path.of("src/test/resources/torchscript", kind);
  }

  /** The checkpoint in the same folder, without the export's spec file. */
  static DiffusionLM nativeLoad(Path dir, Path tmp) throws Exception {
    Path copy = Files.createDirectories(tmp.resolve("native"));
    for (String f : List.of("config.json", "model.safetensors")) {
      Files.copy(dir.resolve(f), copy.resolve(f));
    }
    return ModelFolder.open(copy).loadModel(ComputeDtype.FLOAT32, Device.cpu());
  }

  @ParameterizedTest
  @ValueSource(strings = {"llada", "dream"})
  void logitsMatchTheNativeLoad(String kind, @TempDir Path tmp) throws Exception {
    Path dir = fixture(kind);
    Random r = new Random(3);
    long[] ids = new long[2 * 9];
    long[] keep = new long[2 * 9];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = 3 + r.nextInt(61);
      keep[i] = i < 9 || i % 9 < 6 ? 1 : 0; // the second row is right-padded
    }
    try (DiffusionLM ts = ModelFolder.open(dir).loadModel(ComputeDtype.FLOAT32, Device.cpu());
        DiffusionLM nat = nativeLoad(dir, tmp); NDManager m = ts.newScope()) {
      assertThat(ts).isInstanceOf(TorchScriptModel.class);
      assertThat(ts.spec().predictionOffset()).isEqualTo(kind.equals("dream") ? 1 : 0);
      assertThat(ts.spec()).isEqualTo(nat.spec());
      float[] a = ts.logits(m.create(ids, new Shape(2, 9)), m.create(keep, new Shape(2, 9)), null).toFloatArray();
      float[] b = nat.logits(m.create(ids, new Shape(2, 9)), m.create(keep, new Shape(2, 9)), null).toFloatArray();
      int v = ts.spec().vocabSize();
      float[] realA = new float[(9 + 6) * v];
      float[] realB = new float[(9 + 6) * v];
      System.arraycopy(a, 0, realA, 0, 15 * v);
      System.arraycopy(b, 0, realB, 0, 15 * v);
      assertThat(Fixtures.maxAbsDiff(realA, realB)).isLessThan(1e-4f);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"llada", "dream"})
  void decodesTheSameTokensAsTheNativeModel(String kind, @TempDir Path tmp) throws Exception {
    Path dir = fixture(kind);
    Random r = new Random(11);
    List<DecodeRequest> stat = new ArrayList<>();
    List<DecodeRequest> fd = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      int[] p = new int[2 + r.nextInt(8)];
      for (int j = 0; j < p.length; j++) {
        p[j] = 3 + r.nextInt(61); // no EOS (1) or mask (2)
      }
      DecodeConfig c = new DecodeConfig(DecodeConfig.Method.STATIC, 16, 8, 16, 4, 0.9, 0, false);
      stat.add(new DecodeRequest("r" + i, p, c, i));
      fd.add(new DecodeRequest("r" + i, p, c.withMethod(DecodeConfig.Method.FREEDAVE), i));
    }
    try (DiffusionLM ts = ModelFolder.open(dir).loadModel(ComputeDtype.FLOAT32, Device.cpu());
        DiffusionLM nat = nativeLoad(dir, tmp)) {
      List<DecodeResult> nativeStatic = new DecodeScheduler(nat, 4, 64).decodeAll(stat);
      List<DecodeResult> tsStatic = new DecodeScheduler(ts, 4, 64).decodeAll(stat);
      List<DecodeResult> tsFreeDave = new DecodeScheduler(ts, 4, 64).decodeAll(fd);
      int fewer = 0;
      for (int i = 0; i < stat.size(); i++) {
        assertThat(tsStatic.get(i).error()).isNull();
        assertThat(tsStatic.get(i).tokens()).as("row %d static, TorchScript vs native", i)
            .containsExactly(nativeStatic.get(i).tokens());
        assertThat(tsFreeDave.get(i).tokens()).as("row %d FreeDave vs static", i)
            .containsExactly(tsStatic.get(i).tokens());
        fewer += tsFreeDave.get(i).stats().nfe() < tsStatic.get(i).stats().nfe() ? 1 : 0;
      }
      assertThat(fewer).as("rows where FreeDave saved forwards").isPositive();
    }
  }

  @Test
  void aCachedDecoderOnAModelWithoutCacheIsARowErrorNotACrash() throws Exception {
    DecodeConfig c = new DecodeConfig(DecodeConfig.Method.STATIC, 8, 8, 8, 1, 0.9, 0, false).withCache(CacheMode.DUAL);
    try (DiffusionLM ts = ModelFolder.open(fixture("llada")).loadModel(ComputeDtype.FLOAT32, Device.cpu())) {
      DecodeResult r = new DecodeScheduler(ts, 2, 64).decodeAll(List.of(new DecodeRequest("a", new int[] {5, 6}, c, 0)))
          .get(0);
      assertThat(r.error()).contains("cache = dual").contains("use cache = none");
    }
  }

  @Test
  void aMissingModuleFileFailsBeforeAnyWork(@TempDir Path tmp) throws Exception {
    Files.writeString(tmp.resolve(TorchScriptModel.SPEC_FILE),
        "{\"model_type\": \"llada\", \"vocab_size\": 64, \"mask_token_id\": 2}");
    assertThatThrownBy(() -> ModelFolder.open(tmp).validate()).isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("model.pt");
    Files.writeString(tmp.resolve(TorchScriptModel.SPEC_FILE), "{\"model_type\": \"gpt2\", \"vocab_size\": 64}");
    Files.writeString(tmp.resolve("model.pt"), "not a module");
    assertThatThrownBy(() -> ModelFolder.open(tmp)).isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("llada or Dream");
  }
}
