package dev.freedave.model;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/** Writes one safetensors file of float tensors in F32 or BF16; folders are {@link CheckpointWriter}'s. */
public final class SafetensorsWriter {
  private static final int CHUNK = 1 << 20;

  private SafetensorsWriter() {}

  /** A tensor held as float32 values in row-major order. */
  public record Tensor(long[] shape, float[] data) {
    public Tensor {
      if (elements(shape) != data.length) {
        throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " does not match " + data.length
            + " values");
      }
    }
  }

  /** Values of a named tensor in row-major order, asked for in chunks. */
  public interface Source {
    float[] values(String name, long offset, int n);

    static Source of(Map<String, Tensor> tensors) {
      return (name, offset, n) -> Arrays.copyOfRange(tensors.get(name).data(), (int) offset, (int) offset + n);
    }
  }

  public static void write(Path file, Map<String, Tensor> tensors, SafetensorsReader.DType dtype) throws IOException {
    Map<String, long[]> shapes = new java.util.LinkedHashMap<>();
    tensors.forEach((name, t) -> shapes.put(name, t.shape()));
    write(file, shapes, dtype, Source.of(tensors));
  }

  /** Streams the tensors of {@code shapes}, in that order, chunk by chunk from {@code source}. */
  public static void write(Path file, Map<String, long[]> shapes, SafetensorsReader.DType dtype, Source source)
      throws IOException {
    if (dtype == SafetensorsReader.DType.F16) {
      throw new IllegalArgumentException("writing F16 is not supported; use F32 or BF16");
    }
    JsonObject header = new JsonObject();
    JsonObject meta = new JsonObject();
    meta.addProperty("format", "pt");
    header.add("__metadata__", meta);
    long offset = 0;
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      JsonObject t = new JsonObject();
      t.addProperty("dtype", dtype.name());
      JsonArray shape = new JsonArray();
      for (long d : e.getValue()) {
        shape.add(d);
      }
      t.add("shape", shape);
      JsonArray offsets = new JsonArray();
      offsets.add(offset);
      offset += elements(e.getValue()) * dtype.bytes;
      offsets.add(offset);
      t.add("data_offsets", offsets);
      header.add(e.getKey(), t);
    }
    byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
    int pad = (8 - json.length % 8) % 8; // keep the data section 8-byte aligned, as the reference writer does
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
      out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length + pad).array());
      out.write(json);
      out.write(" ".repeat(pad).getBytes(StandardCharsets.US_ASCII));
      for (Map.Entry<String, long[]> e : shapes.entrySet()) {
        long n = elements(e.getValue());
        for (long done = 0; done < n; ) {
          int k = (int) Math.min(CHUNK, n - done);
          float[] v = source.values(e.getKey(), done, k);
          ByteBuffer buf = ByteBuffer.allocate(k * dtype.bytes).order(ByteOrder.LITTLE_ENDIAN);
          for (float x : v) {
            if (dtype == SafetensorsReader.DType.F32) {
              buf.putFloat(x);
            } else {
              buf.putShort(HalfFloat.toBfloat16(x));
            }
          }
          out.write(buf.array());
          done += k;
        }
      }
    }
  }

  static long elements(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }
}
