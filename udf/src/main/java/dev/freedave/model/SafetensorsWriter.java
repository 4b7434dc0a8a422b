package dev.freedave.model;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Writes float tensors as a safetensors file in F32 or BF16 (the trainer and the test-model generator use it). */
public final class SafetensorsWriter {
  private SafetensorsWriter() {}

  /** A named tensor held as float32 values in row-major order. */
  public record Tensor(long[] shape, float[] data) {}

  public static void write(Path file, Map<String, Tensor> tensors, SafetensorsReader.DType dtype) throws IOException {
    if (dtype == SafetensorsReader.DType.F16) {
      throw new IllegalArgumentException("writing F16 is not supported; use F32 or BF16");
    }
    JsonObject header = new JsonObject();
    JsonObject meta = new JsonObject();
    meta.addProperty("format", "pt");
    header.add("__metadata__", meta);
    long offset = 0;
    for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
      JsonObject t = new JsonObject();
      t.addProperty("dtype", dtype.name());
      JsonArray shape = new JsonArray();
      long n = 1;
      for (long d : e.getValue().shape()) {
        shape.add(d);
        n *= d;
      }
      if (n != e.getValue().data().length) {
        throw new IllegalArgumentException(e.getKey() + ": shape does not match " + e.getValue().data().length + " values");
      }
      t.add("shape", shape);
      JsonArray offsets = new JsonArray();
      offsets.add(offset);
      offset += n * dtype.bytes;
      offsets.add(offset);
      t.add("data_offsets", offsets);
      header.add(e.getKey(), t);
    }
    byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
    int pad = (8 - json.length % 8) % 8; // keep the data section 8-byte aligned, as the reference writer does
    try (OutputStream out = Files.newOutputStream(file)) {
      ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length + pad);
      out.write(len.array());
      out.write(json);
      out.write(" ".repeat(pad).getBytes(StandardCharsets.US_ASCII));
      for (Tensor t : tensors.values()) {
        ByteBuffer buf = ByteBuffer.allocate(t.data().length * dtype.bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : t.data()) {
          if (dtype == SafetensorsReader.DType.F32) {
            buf.putFloat(v);
          } else {
            buf.putShort(HalfFloat.toBfloat16(v));
          }
        }
        out.write(buf.array());
      }
    }
  }
}
