package dev.freedave.model;

import com.google.gson.GsonBuilder;
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
import java.util.LinkedHashMap;
import java.util.Map;

/** Writes float tensors as a safetensors file in F32 or BF16 (the trainer and the test-model generator use it). */
public final class SafetensorsWriter {
  private SafetensorsWriter() {}

  /** A named tensor held as float32 values in row-major order. */
  public record Tensor(long[] shape, float[] data) {}

  public static void write(Path file, Map<String, Tensor> tensors, SafetensorsReader.DType dtype) throws IOException {
    Map<String, long[]> shapes = new LinkedHashMap<>();
    tensors.forEach((name, t) -> {
      if (count(t.shape()) != t.data().length) {
        throw new IllegalArgumentException(name + ": shape does not match " + t.data().length + " values");
      }
      shapes.put(name, t.shape());
    });
    write(file, shapes, dtype, (name, offset, n) -> Arrays.copyOfRange(tensors.get(name).data(), (int) offset,
        (int) offset + n));
  }

  /** Values of a tensor in row-major order, asked for in chunks. */
  public interface Source {
    float[] values(String name, long offset, int n);
  }

  /**
   * Streams tensors chunk by chunk, so a file can be far larger than the heap (the load benchmark
   * writes multi-GB checkpoints this way).
   */
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
      offset += count(e.getValue()) * dtype.bytes;
      offsets.add(offset);
      t.add("data_offsets", offsets);
      header.add(e.getKey(), t);
    }
    byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
    int pad = (8 - json.length % 8) % 8; // keep the data section 8-byte aligned, as the reference writer does
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
      ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length + pad);
      out.write(len.array());
      out.write(json);
      out.write(" ".repeat(pad).getBytes(StandardCharsets.US_ASCII));
      for (Map.Entry<String, long[]> e : shapes.entrySet()) {
        long n = count(e.getValue());
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

  private static final int CHUNK = 1 << 20;

  /** The HF name of shard k (0-based) of n. */
  public static String shardName(int k, int n) {
    return String.format("model-%05d-of-%05d.safetensors", k + 1, n);
  }

  /** model.safetensors.index.json: which shard holds each tensor, and the tensors' total bytes. */
  public static void writeIndex(Path dir, JsonObject weightMap, long totalBytes) throws IOException {
    JsonObject index = new JsonObject();
    JsonObject meta = new JsonObject();
    meta.addProperty("total_size", totalBytes);
    index.add("metadata", meta);
    index.add("weight_map", weightMap);
    Files.writeString(dir.resolve("model.safetensors.index.json"),
        new GsonBuilder().setPrettyPrinting().create().toJson(index), StandardCharsets.UTF_8);
  }

  private static long count(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }
}
