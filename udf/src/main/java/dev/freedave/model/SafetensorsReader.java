package dev.freedave.model;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads one {@code .safetensors} file through memory maps: the header is parsed once, tensor data is
 * mapped a slice at a time, so files (and tensors) larger than 2 GiB work and nothing but the
 * requested slice is ever on the Java heap.
 */
public final class SafetensorsReader implements Closeable {

  /** Storage types we convert from. BF16 is widened in Java: DJL's PyTorch JNI aborts on it. */
  public enum DType {
    F32(4),
    F16(2),
    BF16(2);

    public final int bytes;

    DType(int bytes) {
      this.bytes = bytes;
    }
  }

  /** One tensor's entry in the header; offsets are absolute in the file. */
  public record TensorInfo(String name, DType dtype, long[] shape, long start, long end, Path file) {
    public long elements() {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      return n;
    }

    public String shapeString() {
      return Arrays.toString(shape);
    }
  }

  private final Path path;
  private final FileChannel channel;
  private final Map<String, TensorInfo> tensors;

  private SafetensorsReader(Path path, FileChannel channel, Map<String, TensorInfo> tensors) {
    this.path = path;
    this.channel = channel;
    this.tensors = tensors;
  }

  public static SafetensorsReader open(Path path) throws IOException {
    FileChannel ch;
    try {
      ch = FileChannel.open(path, StandardOpenOption.READ);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new ModelLoadException("missing safetensors file " + path, e);
    }
    try {
      return new SafetensorsReader(path, ch, parseHeader(path, ch));
    } catch (RuntimeException | IOException e) {
      ch.close();
      throw e;
    }
  }

  private static Map<String, TensorInfo> parseHeader(Path path, FileChannel ch) throws IOException {
    long size = ch.size();
    if (size < 8) {
      throw new ModelLoadException("not a safetensors file (" + size + " bytes): " + path);
    }
    ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    ch.read(lenBuf, 0);
    long headerLen = lenBuf.flip().getLong();
    if (headerLen <= 0 || headerLen > 100_000_000L || 8 + headerLen > size) {
      throw new ModelLoadException("corrupt safetensors header length " + headerLen + " in " + path);
    }
    ByteBuffer header = ByteBuffer.allocate((int) headerLen);
    while (header.hasRemaining()) {
      if (ch.read(header, 8 + header.position()) < 0) {
        throw new ModelLoadException("truncated safetensors header in " + path);
      }
    }
    JsonObject json;
    try {
      json = JsonParser.parseString(new String(header.array(), StandardCharsets.UTF_8)).getAsJsonObject();
    } catch (RuntimeException e) {
      throw new ModelLoadException("safetensors header is not JSON in " + path, e);
    }
    long dataStart = 8 + headerLen;
    Map<String, TensorInfo> out = new LinkedHashMap<>();
    for (Map.Entry<String, JsonElement> e : json.entrySet()) {
      if (e.getKey().equals("__metadata__")) {
        continue;
      }
      JsonObject t = e.getValue().getAsJsonObject();
      String dt = t.get("dtype").getAsString();
      DType dtype;
      try {
        dtype = DType.valueOf(dt);
      } catch (IllegalArgumentException ex) {
        throw new ModelLoadException("tensor " + e.getKey() + " in " + path + " has dtype " + dt
            + "; supported: F32, F16, BF16");
      }
      long[] shape = new long[t.getAsJsonArray("shape").size()];
      for (int i = 0; i < shape.length; i++) {
        shape[i] = t.getAsJsonArray("shape").get(i).getAsLong();
      }
      long begin = t.getAsJsonArray("data_offsets").get(0).getAsLong();
      long end = t.getAsJsonArray("data_offsets").get(1).getAsLong();
      TensorInfo info = new TensorInfo(e.getKey(), dtype, shape, dataStart + begin, dataStart + end, path);
      if (end - begin != info.elements() * dtype.bytes || dataStart + end > size) {
        throw new ModelLoadException("tensor " + e.getKey() + " in " + path + " has inconsistent offsets ["
            + begin + ", " + end + ") for shape " + info.shapeString() + " " + dt + " (file is " + size + " bytes)");
      }
      out.put(e.getKey(), info);
    }
    return Collections.unmodifiableMap(out);
  }

  public Map<String, TensorInfo> tensors() {
    return tensors;
  }

  /**
   * Converts {@code count} elements of a tensor, starting at element {@code from}, to float32 into
   * {@code dst} (which must be little-endian). BF16 and F16 are widened exactly.
   */
  public void readFloats(TensorInfo t, long from, int count, ByteBuffer dst) throws IOException {
    if (from < 0 || from + count > t.elements()) {
      throw new IndexOutOfBoundsException(t.name() + ": elements [" + from + ", " + (from + count) + ")");
    }
    MappedByteBuffer src = channel.map(FileChannel.MapMode.READ_ONLY, t.start() + from * t.dtype().bytes,
        (long) count * t.dtype().bytes);
    src.order(ByteOrder.LITTLE_ENDIAN);
    switch (t.dtype()) {
      case F32 -> {
        for (int i = 0; i < count; i++) {
          dst.putFloat(src.getFloat());
        }
      }
      case BF16 -> {
        for (int i = 0; i < count; i++) {
          dst.putFloat(Float.intBitsToFloat((src.getShort() & 0xffff) << 16));
        }
      }
      case F16 -> {
        for (int i = 0; i < count; i++) {
          dst.putFloat(HalfFloat.toFloat(src.getShort()));
        }
      }
    }
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
