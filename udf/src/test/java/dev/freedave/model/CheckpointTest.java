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
    values[2] = HalfFloat.bfloat16ToFloat((short) 0x7f7f); // the largest finite bf16
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
  void aNonFiniteWeightIsRefusedWithTheTensorAndElement() throws IOException {
    short[] f16 = {0x7e00, 0x7c00, (short) 0xfc00}; // NaN, +Inf, -Inf
    float[] f32 = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
    for (SafetensorsReader.DType dtype : SafetensorsReader.DType.values()) {
      for (int k = 0; k < 3; k++) {
        Path file = tmp.resolve("bad-" + dtype + k + ".safetensors");
        if (dtype == SafetensorsReader.DType.F16) { // the writer has no F16: write the bytes
          String header = "{\"w\": {\"dtype\": \"F16\", \"shape\": [8, 8], \"data_offsets\": [0, 128]}}";
          writeRaw(file, header, 128);
          byte[] b = Files.readAllBytes(file);
          int at = b.length - 128 + 37 * 2;
          b[at] = (byte) f16[k];
          b[at + 1] = (byte) (f16[k] >> 8);
          Files.write(file, b);
        } else {
          float[] values = new float[64];
          values[37] = f32[k];
          SafetensorsWriter.write(file, Map.of("w", new SafetensorsWriter.Tensor(new long[] {8, 8}, values)), dtype);
        }
        try (SafetensorsReader reader = SafetensorsReader.open(file)) {
          ByteBuffer buf = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
          assertThatThrownBy(() -> reader.readFloats(reader.tensors().get("w"), 0, 64, buf)).as(file.toString())
              .isInstanceOf(ModelLoadException.class).hasMessageContaining("tensor w in " + file)
              .hasMessageContaining("non-finite value (NaN or Inf) at element 37");
          ByteBuffer head = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
          reader.readFloats(reader.tensors().get("w"), 0, 37, head); // the finite part before it reads fine
        }
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

  /** A safetensors file with this header (JSON) and this many data bytes. */
  private static void writeRaw(Path file, String header, int dataBytes) throws IOException {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(h.length).put(h);
    Files.write(file, b.array());
  }

  @Test
  void hostileHeadersAreRefusedWhenTheDriverValidatesTheFolder() throws Exception {
    Path dir = TinyModels.write(tmp.resolve("m"), TinyModels.Spec.llada(1));
    Path file = dir.resolve("model.safetensors");
    byte[] original = Files.readAllBytes(file);
    Map<String, String> cases = new LinkedHashMap<>();
    // negative offsets whose difference is right: they pointed into the header and passed before
    cases.put("{\"t\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [-8, 0]}}",
        "tensor t in " + file + " has inconsistent offsets [-8, 0)");
    cases.put("{\"t\": {\"dtype\": \"F32\", \"shape\": [-2], \"data_offsets\": [0, 8]}}",
        "tensor t in " + file + " has shape [-2]");
    cases.put("{\"t\": {\"shape\": [2], \"data_offsets\": [0, 8]}}",
        "tensor t in " + file + " has a malformed header entry");
    cases.put("{\"t\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": \"0-8\"}}",
        "tensor t in " + file + " has a malformed header entry");
    cases.put("{\"t\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}",
        "tensor t in " + file + " has inconsistent offsets [4, 12)");
    for (Map.Entry<String, String> c : cases.entrySet()) {
      writeRaw(file, c.getKey(), 8);
      assertThatThrownBy(() -> ModelFolder.open(dir).validate()).as(c.getKey())
          .isInstanceOf(ModelLoadException.class).hasMessageContaining(c.getValue());
    }
    Files.write(file, original);
    ModelFolder.open(dir).validate();
  }

  @Test
  void badConfigValuesNameTheFileAndKey() throws Exception {
    Path dir = TinyModels.write(tmp.resolve("m"), TinyModels.Spec.llada(1));
    Path config = dir.resolve("config.json");
    String good = Files.readString(config);
    Map<String, String> cases = new LinkedHashMap<>();
    cases.put(good.replace("\"n_heads\": 4", "\"n_heads\": 0"), config + ": n_heads must be positive, got 0");
    cases.put(good.replace("\"embedding_size\": 64", "\"embedding_size\": \"sixty-four\""),
        config + ": 'embedding_size' must be a number");
    cases.put(good.replace("\"n_layers\": 2", "\"n_layers\": 2.5"), config + ": 'n_layers' must be an integer");
    cases.put("{\"model_type\": \"llada\", ", config + " is not a JSON object");
    for (Map.Entry<String, String> c : cases.entrySet()) {
      assertThat(c.getKey()).isNotEqualTo(good);
      Files.writeString(config, c.getKey());
      assertThatThrownBy(() -> ModelFolder.open(dir).validate()).isInstanceOf(ModelLoadException.class)
          .hasMessageContaining(c.getValue());
    }
    Files.writeString(config, good);
    Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"WordLevel\", \"vocab\": [1, 2]}}");
    assertThatThrownBy(() -> ModelFolder.open(dir).validate()).isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("the tokenizer of " + dir + " cannot be built");
    Files.writeString(dir.resolve("tokenizer.json"), "{\"added_tokens\": [{\"id\": \"x\"}]}");
    assertThatThrownBy(() -> ModelFolder.open(dir)).isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("the tokenizer.json of " + dir + " is not a tokenizer file");
  }

  @Test
  void theFingerprintFollowsTheContentNotThePath() throws Exception {
    Path a = TinyModels.write(tmp.resolve("a/model"), TinyModels.Spec.llada(1));
    Path sameElsewhere = TinyModels.write(tmp.resolve("b/model"), TinyModels.Spec.llada(1));
    Path otherWeights = TinyModels.write(tmp.resolve("c/model"), TinyModels.Spec.llada(2)); // same names, shapes
    String fa = ModelFolder.open(a).fingerprint();
    assertThat(ModelFolder.open(sameElsewhere).fingerprint()).isEqualTo(fa);
    assertThat(ModelFolder.open(otherWeights).fingerprint()).isNotEqualTo(fa);
    Files.writeString(a.resolve("README.md"), "notes");
    assertThat(ModelFolder.open(a).fingerprint()).isEqualTo(fa);
    Files.writeString(a.resolve("tokenizer.json"), Files.readString(a.resolve("tokenizer.json")) + " ");
    assertThat(ModelFolder.open(a).fingerprint()).isNotEqualTo(fa);
  }
}
