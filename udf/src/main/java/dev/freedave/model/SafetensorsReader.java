package dev.freedave.model;

import com.google.gson.JsonArray;
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
      out.put(e.getKey(), tensorInfo(e.getKey(), e.getValue(), path, dataStart, size - dataStart));
    }
    return Collections.unmodifiableMap(out);
  }

  /**
   * One header entry; a field missing or mistyped, a negative dimension, or offsets that are not
   * {@code 0 <= begin <= end <= data bytes} with {@code end - begin} the tensor's size are refused
   * with the tensor's name (on the driver, which reads every header before any task).
   */
  private static TensorInfo tensorInfo(String name, JsonElement entry, Path path, long dataStart, long dataBytes) {
    try {
      JsonObject t = entry.getAsJsonObject();
      String dt = t.get("dtype").getAsString();
      DType dtype;
      try {
        dtype = DType.valueOf(dt);
      } catch (IllegalArgumentException ex) {
        throw new ModelLoadException("tensor " + name + " in " + path + " has dtype " + dt
            + "; supported: F32, F16, BF16");
      }
      JsonArray dims = t.getAsJsonArray("shape");
      long[] shape = new long[dims.size()];
      long elements = 1;
      for (int i = 0; i < shape.length; i++) {
        shape[i] = dims.get(i).getAsLong();
        if (shape[i] < 0 || (shape[i] > 0 && elements > Long.MAX_VALUE / 8 / shape[i])) {
          throw new ModelLoadException("tensor " + name + " in " + path + " has shape " + dims);
        }
        elements *= shape[i];
      }
      JsonArray offsets = t.getAsJsonArray("data_offsets");
      if (offsets.size() != 2) {
        throw new ModelLoadException("tensor " + name + " in " + path + " has data_offsets " + offsets);
      }
      long begin = offsets.get(0).getAsLong();
      long end = offsets.get(1).getAsLong();
      if (begin < 0 || end < begin || end > dataBytes || end - begin != elements * dtype.bytes) {
        throw new ModelLoadException("tensor " + name + " in " + path + " has inconsistent offsets [" + begin + ", "
            + end + ") for shape " + Arrays.toString(shape) + " " + dt + " (data is " + dataBytes + " bytes)");
      }
      return new TensorInfo(name, dtype, shape, dataStart + begin, dataStart + end, path);
    } catch (ModelLoadException e) {
      throw e;
    } catch (RuntimeException e) { // a missing field (null) or a value of the wrong JSON type
      throw new ModelLoadException("tensor " + name + " in " + path + " has a malformed header entry " + entry
          + " (want dtype, shape and data_offsets)", e);
    }
  }

  public Map<String, TensorInfo> tensors() {
    return tensors;
  }

  /**
   * Converts {@code count} elements of a tensor, starting at element {@code from}, to float32 into
   * {@code dst} (which must be little-endian). BF16 and F16 are widened exactly. A NaN or an infinity
   * is refused with the tensor's name: such weights decode to garbage that looks like output.
   */
  public void readFloats(TensorInfo t, long from, int count, ByteBuffer dst) throws IOException {
    if (from < 0 || from + count > t.elements()) {
      throw new IndexOutOfBoundsException(t.name() + ": elements [" + from + ", " + (from + count) + ")");
    }
    MappedByteBuffer src = channel.map(FileChannel.MapMode.READ_ONLY, t.start() + from * t.dtype().bytes,
        (long) count * t.dtype().bytes);
    src.order(ByteOrder.LITTLE_ENDIAN);
    int bad = -1;
    switch (t.dtype()) {
      case F32 -> {
        for (int i = 0; i < count; i++) {
          int bits = src.getInt();
          bad = bad < 0 && (bits & 0x7f80_0000) == 0x7f80_0000 ? i : bad;
          dst.putInt(bits);
        }
      }
      case BF16 -> {
        for (int i = 0; i < count; i++) {
          int bits = (src.getShort() & 0xffff) << 16;
          bad = bad < 0 && (bits & 0x7f80_0000) == 0x7f80_0000 ? i : bad;
          dst.putInt(bits);
        }
      }
      case F16 -> {
        for (int i = 0; i < count; i++) {
          short h = src.getShort();
          bad = bad < 0 && (h & 0x7c00) == 0x7c00 ? i : bad;
          dst.putFloat(HalfFloat.toFloat(h));
        }
      }
    }
    if (bad >= 0) {
      throw new ModelLoadException("tensor " + t.name() + " in " + path + " holds a non-finite value (NaN or Inf) at "
          + "element " + (from + bad) + "; the checkpoint is broken");
    }
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
