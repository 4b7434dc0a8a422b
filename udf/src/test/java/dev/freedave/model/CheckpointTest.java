package dev.freedave.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.freedave.testkit.TinyModels;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Safetensors reading, BF16 conversion, sharded folders and the errors of broken folders. */
class CheckpointTest {
  @TempDir Path tmp;

  private static float[] logits(DiffusionLM model) {
    long[] ids = {5, 9, 2, 2, 17, 33, 2, 40};
    try (NDManager m = model.newScope()) {
      return model.logits(m.create(ids, new Shape(2, 4)), null, null).toFloatArray();
    }
  }

  @Test
  void bf16IsWidenedExactly() throws IOException {
    Random r = new Random(11);
    float[] values = new float[1000];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(12) - 6));
    }
    values[0] = Float.MIN_NORMAL;
    values[1] = -0.0f;
    values[2] = Float.POSITIVE_INFINITY;
    Path file = tmp.resolve("t.safetensors");
    SafetensorsWriter.write(file, Map.of("t", new SafetensorsWriter.Tensor(new long[] {10, 100}, values)),
        SafetensorsReader.DType.BF16);
    try (SafetensorsReader reader = SafetensorsReader.open(file)) {
      SafetensorsReader.TensorInfo info = reader.tensors().get("t");
      assertThat(info.dtype()).isEqualTo(SafetensorsReader.DType.BF16);
      ByteBuffer buf = ByteBuffer.allocate(4000).order(ByteOrder.LITTLE_ENDIAN);
      reader.readFloats(info, 0, 1000, buf);
      buf.flip();
      for (float v : values) {
        float expected = HalfFloat.bfloat16ToFloat(HalfFloat.toBfloat16(v));
        assertThat(Float.floatToRawIntBits(buf.getFloat())).isEqualTo(Float.floatToRawIntBits(expected));
      }
    }
  }

  @Test
  void bfloat16RoundsToNearestEven() {
    // 1 + 2^-8 is halfway between two bf16 values: ties go to the even mantissa (1.0)
    assertThat(HalfFloat.bfloat16ToFloat(HalfFloat.toBfloat16(1f + 0x1p-8f))).isEqualTo(1f);
    assertThat(HalfFloat.bfloat16ToFloat(HalfFloat.toBfloat16(1f + 3 * 0x1p-8f))).isEqualTo(1f + 0x1p-6f);
    assertThat(HalfFloat.toFloat((short) 0x3c00)).isEqualTo(1f);
    assertThat(HalfFloat.toFloat((short) 0x0001)).isEqualTo(0x1p-24f);
    assertThat(HalfFloat.toFloat((short) 0xfbff)).isEqualTo(-65504f);
  }

  @Test
  void bf16CheckpointGivesTheLogitsOfItsExactF32Widening() throws Exception {
    Path bf16 = TinyModels.write(tmp.resolve("bf16"), TinyModels.Spec.llada(3).withDtype(SafetensorsReader.DType.BF16));
    // widen every tensor in Java and store it as F32: the two folders must give bit-identical logits
    Path f32 = tmp.resolve("f32");
    Files.createDirectories(f32);
    Files.copy(bf16.resolve("config.json"), f32.resolve("config.json"));
    Map<String, SafetensorsWriter.Tensor> widened = new LinkedHashMap<>();
    try (SafetensorsReader r = SafetensorsReader.open(bf16.resolve("model.safetensors"))) {
      for (SafetensorsReader.TensorInfo t : r.tensors().values()) {
        ByteBuffer buf = ByteBuffer.allocate((int) t.elements() * 4).order(ByteOrder.LITTLE_ENDIAN);
        r.readFloats(t, 0, (int) t.elements(), buf);
        float[] v = new float[(int) t.elements()];
        buf.flip().asFloatBuffer().get(v);
        widened.put(t.name(), new SafetensorsWriter.Tensor(t.shape(), v));
      }
    }
    SafetensorsWriter.write(f32.resolve("model.safetensors"), widened, SafetensorsReader.DType.F32);
    try (LlamaFamilyModel a = (LlamaFamilyModel) TinyModels.load(bf16);
        LlamaFamilyModel b = (LlamaFamilyModel) TinyModels.load(f32)) {
      assertThat(logits(a)).containsExactly(logits(b));
    }
  }

  @Test
  void shardedFolderLoadsTheSameModel() throws Exception {
    Path single = TinyModels.write(tmp.resolve("single"), TinyModels.Spec.qwen2(5));
    Path sharded = TinyModels.write(tmp.resolve("sharded"), TinyModels.Spec.qwen2(5).withShards(3));
    assertThat(sharded.resolve("model.safetensors.index.json")).exists();
    assertThat(sharded.resolve("model-00003-of-00003.safetensors")).exists();
    try (LlamaFamilyModel a = (LlamaFamilyModel) TinyModels.load(single);
        LlamaFamilyModel b = (LlamaFamilyModel) TinyModels.load(sharded)) {
      assertThat(logits(a)).containsExactly(logits(b));
    }
  }

  @Test
  void missingShardIsNamed() throws Exception {
    Path dir = TinyModels.write(tmp.resolve("m"), TinyModels.Spec.llada(1).withShards(2));
    Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
    assertThatThrownBy(() -> TinyModels.load(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("missing shard model-00002-of-00002.safetensors");
  }

  @Test
  void wrongShapeNamesTensorAndExpectedShape() throws Exception {
    Path dir = TinyModels.write(tmp.resolve("m"), TinyModels.Spec.llada(1));
    // claim a larger FFN than the tensors have
    String cfg = Files.readString(dir.resolve("config.json")).replace("\"mlp_hidden_size\": 64", "\"mlp_hidden_size\": 65");
    Files.writeString(dir.resolve("config.json"), cfg);
    assertThatThrownBy(() -> TinyModels.load(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("tensor model.transformer.blocks.0.ff_proj.weight has shape [64, 32], expected [65, 32]");
  }

  @Test
  void missingTensorIsNamed() throws Exception {
    Path dir = tmp.resolve("m");
    TinyModels.write(dir, TinyModels.Spec.qwen2(1));
    Map<String, SafetensorsWriter.Tensor> kept = new LinkedHashMap<>();
    try (SafetensorsReader r = SafetensorsReader.open(dir.resolve("model.safetensors"))) {
      for (SafetensorsReader.TensorInfo t : r.tensors().values()) {
        if (!t.name().equals("model.layers.1.self_attn.k_proj.bias")) {
          kept.put(t.name(), new SafetensorsWriter.Tensor(t.shape(), new float[(int) t.elements()]));
        }
      }
    }
    SafetensorsWriter.write(dir.resolve("model.safetensors"), kept, SafetensorsReader.DType.F32);
    assertThatThrownBy(() -> TinyModels.load(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("missing tensor model.layers.1.self_attn.k_proj.bias (expected shape [16])");
  }

  @Test
  void unknownModelTypeIsRejected() throws Exception {
    Path dir = TinyModels.write(tmp.resolve("m"), TinyModels.Spec.llada(1));
    Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"mamba\", \"d_model\": 32}",
        StandardCharsets.UTF_8);
    assertThatThrownBy(() -> TinyModels.load(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("unknown model_type 'mamba'");
  }

  @Test
  void missingConfigAndTruncatedFileAreClear() throws Exception {
    assertThatThrownBy(() -> TinyModels.load(tmp.resolve("nowhere")))
        .isInstanceOf(ModelLoadException.class).hasMessageContaining("nowhere does not exist");
    Path empty = Files.createDirectories(tmp.resolve("empty"));
    assertThatThrownBy(() -> TinyModels.load(empty))
        .isInstanceOf(ModelLoadException.class).hasMessageContaining("no config.json");
    Path dir = TinyModels.write(tmp.resolve("m"), TinyModels.Spec.llada(1));
    byte[] bytes = Files.readAllBytes(dir.resolve("model.safetensors"));
    Files.write(dir.resolve("model.safetensors"), java.util.Arrays.copyOf(bytes, bytes.length - 100));
    assertThatThrownBy(() -> TinyModels.load(dir))
        .isInstanceOf(ModelLoadException.class).hasMessageContaining("inconsistent offsets");
  }
}
