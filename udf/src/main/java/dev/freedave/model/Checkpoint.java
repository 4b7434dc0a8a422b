package dev.freedave.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.Closeable;
import java.io.IOException;
import java.io.Reader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The tensors of a Hugging Face model folder: {@code model.safetensors}, or the shards named by
 * {@code model.safetensors.index.json}'s {@code weight_map}. Only headers are read on open; tensor
 * data is converted slice by slice into device arrays when asked for.
 */
public final class Checkpoint implements Closeable {
  /** Conversion slices: bounded so that loading never holds more than this much on the Java side. */
  private static final int SLICE_BYTES = 64 << 20;

  private final Path dir;
  private final List<SafetensorsReader> files;
  private final Map<String, SafetensorsReader.TensorInfo> tensors;
  private final Map<String, SafetensorsReader> owner;

  private Checkpoint(Path dir, List<SafetensorsReader> files) {
    this.dir = dir;
    this.files = files;
    this.tensors = new LinkedHashMap<>();
    this.owner = new LinkedHashMap<>();
    for (SafetensorsReader f : files) {
      for (SafetensorsReader.TensorInfo t : f.tensors().values()) {
        tensors.put(t.name(), t);
        owner.put(t.name(), f);
      }
    }
  }

  public static Checkpoint open(Path dir) throws IOException {
    Path index = dir.resolve("model.safetensors.index.json");
    List<Path> paths = new ArrayList<>();
    Map<String, String> weightMap = null;
    if (Files.isRegularFile(index)) {
      weightMap = readWeightMap(index);
      for (String f : new TreeSet<>(weightMap.values())) {
        paths.add(dir.resolve(f));
      }
    } else if (Files.isRegularFile(dir.resolve("model.safetensors"))) {
      paths.add(dir.resolve("model.safetensors"));
    } else {
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.safetensors")) {
        ds.forEach(paths::add);
      } catch (java.nio.file.NoSuchFileException e) {
        throw new ModelLoadException("model folder does not exist: " + dir, e);
      }
      paths.sort(null);
    }
    if (paths.isEmpty()) {
      throw new ModelLoadException("no model.safetensors, index or *.safetensors file in " + dir);
    }
    List<SafetensorsReader> readers = new ArrayList<>();
    try {
      for (Path p : paths) {
        if (!Files.isRegularFile(p)) {
          throw new ModelLoadException("missing shard " + p.getFileName() + " named by " + index);
        }
        readers.add(SafetensorsReader.open(p));
      }
    } catch (RuntimeException | IOException e) {
      for (SafetensorsReader r : readers) {
        r.close();
      }
      throw e;
    }
    Checkpoint ckpt = new Checkpoint(dir, readers);
    if (weightMap != null) {
      for (Map.Entry<String, String> e : weightMap.entrySet()) {
        SafetensorsReader.TensorInfo t = ckpt.tensors.get(e.getKey());
        if (t == null || !t.file().getFileName().toString().equals(e.getValue())) {
          ckpt.close();
          throw new ModelLoadException("tensor " + e.getKey() + " is mapped to " + e.getValue() + " by " + index
              + " but that shard does not hold it");
        }
      }
    }
    return ckpt;
  }

  private static Map<String, String> readWeightMap(Path index) throws IOException {
    try (Reader r = Files.newBufferedReader(index)) {
      JsonObject wm = JsonParser.parseReader(r).getAsJsonObject().getAsJsonObject("weight_map");
      Map<String, String> out = new LinkedHashMap<>();
      for (Map.Entry<String, JsonElement> e : wm.entrySet()) {
        out.put(e.getKey(), e.getValue().getAsString());
      }
      return out;
    } catch (RuntimeException e) {
      throw new ModelLoadException("unreadable weight_map in " + index, e);
    }
  }

  /**
   * Checks that every expected tensor exists with its expected shape, reporting all problems in
   * one message, so a broken folder fails before anything is loaded.
   */
  public void validate(Map<String, long[]> expected) {
    List<String> problems = new ArrayList<>();
    for (Map.Entry<String, long[]> e : expected.entrySet()) {
      SafetensorsReader.TensorInfo t = tensors.get(e.getKey());
      if (t == null) {
        problems.add("missing tensor " + e.getKey() + " (expected shape " + Arrays.toString(e.getValue()) + ")");
      } else if (!Arrays.equals(t.shape(), e.getValue())) {
        problems.add("tensor " + e.getKey() + " has shape " + t.shapeString() + ", expected "
            + Arrays.toString(e.getValue()));
      }
    }
    if (!problems.isEmpty()) {
      throw new ModelLoadException("checkpoint " + dir + " does not match its config.json: "
          + String.join("; ", problems));
    }
  }

  /**
   * Loads a tensor as a device array of the given type. The source is widened to float32 a slice of
   * rows at a time (never the whole tensor on the Java heap), then cast on the device.
   */
  public NDArray load(NDManager manager, String name, DataType type) throws IOException {
    SafetensorsReader.TensorInfo t = tensors.get(name);
    if (t == null) {
      throw new ModelLoadException("missing tensor " + name + " in " + dir);
    }
    long[] shape = t.shape();
    long rowElems = 1;
    for (int i = 1; i < shape.length; i++) {
      rowElems *= shape[i];
    }
    long rows = shape.length == 0 ? 1 : shape[0];
    long rowsPerSlice = Math.max(1, SLICE_BYTES / (rowElems * 4));
    NDList slices = new NDList();
    try {
      for (long r = 0; r < rows; r += rowsPerSlice) {
        long n = Math.min(rowsPerSlice, rows - r);
        int count = Math.toIntExact(n * rowElems);
        ByteBuffer buf = ByteBuffer.allocateDirect(count * 4).order(ByteOrder.nativeOrder());
        owner.get(name).readFloats(t, r * rowElems, count, buf);
        buf.flip();
        long[] sliceShape = shape.length == 0 ? new long[0] : shape.clone();
        if (shape.length > 0) {
          sliceShape[0] = n;
        }
        NDArray f32 = manager.create(buf, new Shape(sliceShape), DataType.FLOAT32);
        // DJL wraps a direct buffer without copying; copy into torch-owned memory so the buffer can be freed
        slices.add(type == DataType.FLOAT32 ? copyAndClose(f32) : castAndClose(f32, type));
      }
      if (slices.size() == 1) {
        return slices.get(0);
      }
      NDArray all = NDArrays.concat(slices, 0);
      slices.close();
      return all;
    } catch (RuntimeException | IOException e) {
      slices.close();
      throw e;
    }
  }

  private static NDArray copyAndClose(NDArray a) {
    NDArray c = a.duplicate();
    a.close();
    return c;
  }

  private static NDArray castAndClose(NDArray a, DataType type) {
    NDArray c = a.toType(type, true);
    a.close();
    return c;
  }

  @Override
  public void close() throws IOException {
    for (SafetensorsReader r : files) {
      r.close();
    }
  }
}
