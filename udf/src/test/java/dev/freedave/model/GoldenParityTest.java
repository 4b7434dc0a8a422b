package dev.freedave.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.freedave.io.Npy;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.Test;

/**
 * The Java forward pass against logits computed by Hugging Face transformers 5.17 (Llama and Qwen2
 * code, bidirectional mask) on the same weights; fixtures made by notebooks/golden_parity.py.
 */
class GoldenParityTest {
  static Path golden(String name) throws URISyntaxException {
    return Paths.get(GoldenParityTest.class.getResource("/golden/" + name).toURI());
  }

  static float[] run(DiffusionLM model, Npy.Array ids, Npy.Array mask) {
    try (NDManager m = model.newScope()) {
      NDArray idArr = m.create(ids.longs(), new Shape(ids.shape()));
      NDArray maskArr = mask == null ? null : m.create(mask.longs(), new Shape(mask.shape()));
      NDArray out = model.logits(idArr, maskArr, null);
      assertThat(out.getShape().getShape()).containsExactly(ids.shape()[0], ids.shape()[1],
          model.spec().vocabSize());
      return out.toFloatArray();
    }
  }

  static float maxAbsDiff(float[] a, float[] b) {
    assertThat(a).hasSameSizeAs(b);
    float max = 0;
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs(a[i] - b[i]));
    }
    return max;
  }

  @Test
  void lladaNamingMatchesTransformersLlama() throws Exception {
    Path dir = golden("llada");
    try (LlamaFamilyModel model = LlamaFamilyModel.load(dir, DataType.FLOAT32, Device.cpu())) {
      assertThat(model.config().family()).isEqualTo(ModelConfig.Family.LLADA);
      float[] expected = Npy.read(dir.resolve("logits.npy")).floats();
      float[] actual = run(model, Npy.read(dir.resolve("ids.npy")), null);
      assertThat(maxAbsDiff(actual, expected)).isLessThan(1e-4f);
    }
  }

  @Test
  void lladaLeftPaddedRowMatchesTransformersKeyPaddingMask() throws Exception {
    Path dir = golden("llada");
    try (LlamaFamilyModel model = LlamaFamilyModel.load(dir, DataType.FLOAT32, Device.cpu())) {
      float[] expected = Npy.read(dir.resolve("padded_logits.npy")).floats();
      float[] actual = run(model, Npy.read(dir.resolve("padded_ids.npy")), Npy.read(dir.resolve("padded_mask.npy")));
      // every position, pads included: padded queries still attend to the real keys, as in LLaDA
      assertThat(maxAbsDiff(actual, expected)).isLessThan(1e-4f);
    }
  }

  @Test
  void qwen2WithGqaAndQkvBiasMatchesTransformersQwen2() throws Exception {
    Path dir = golden("qwen2");
    try (LlamaFamilyModel model = LlamaFamilyModel.load(dir, DataType.FLOAT32, Device.cpu())) {
      ModelConfig c = model.config();
      assertThat(c.family()).isEqualTo(ModelConfig.Family.QWEN2);
      assertThat(c.kvGroups()).isEqualTo(3);
      assertThat(c.qkvBias()).isTrue();
      assertThat(c.ropeTheta()).isEqualTo(1e6);
      float[] expected = Npy.read(dir.resolve("logits.npy")).floats();
      try (NDManager m = model.newScope()) {
        Npy.Array ids = Npy.read(dir.resolve("ids.npy"));
        float[] actual = model.logits(m.create(ids.longs(), new Shape(ids.shape())), null, null).toFloatArray();
        assertThat(maxAbsDiff(actual, expected)).isLessThan(1e-4f);
      }
    }
  }

  @Test
  void fp16WeightsStayCloseToFp32() throws Exception {
    Path dir = golden("llada");
    Npy.Array ids = Npy.read(dir.resolve("ids.npy"));
    float[] expected = Npy.read(dir.resolve("logits.npy")).floats();
    try (LlamaFamilyModel model = LlamaFamilyModel.load(dir, DataType.FLOAT16, Device.cpu())) {
      float[] actual = run(model, ids, null);
      float scale = 0;
      for (float v : expected) {
        scale = Math.max(scale, Math.abs(v));
      }
      // fp16 keeps ~3 decimal digits; the residual stream stays fp32
      assertThat(maxAbsDiff(actual, expected)).isLessThan(2e-2f * scale);
      assertThat(maxAbsDiff(actual, expected)).isGreaterThan(0f);
    }
  }
}
