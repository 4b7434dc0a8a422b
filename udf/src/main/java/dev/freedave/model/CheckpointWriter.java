package dev.freedave.model;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a checkpoint folder in the Hugging Face layout the loader reads: config.json, and either
 * {@code model.safetensors} or shards {@code model-0000k-of-0000n.safetensors} with
 * {@code model.safetensors.index.json}. The trainer's save, test checkpoints and the load benchmark's
 * multi-GB synthetic checkpoints all go through here. Tokenizer files are the caller's.
 */
public final class CheckpointWriter {
  private CheckpointWriter() {}

  /**
   * Tensors held in memory.
   *
   * @param shards 1 = one model.safetensors; more = tensors dealt round-robin over that many shards
   *     (as LLaDA's by-type split does: a reader must never assume a shard holds whole layers)
   */
  public static void write(Path dir, ModelConfig config, Map<String, SafetensorsWriter.Tensor> tensors,
      SafetensorsReader.DType storage, int shards) throws IOException {
    List<Map<String, long[]>> plan = new ArrayList<>();
    for (int i = 0; i < Math.max(1, shards); i++) {
      plan.add(new LinkedHashMap<>());
    }
    int i = 0;
    for (Map.Entry<String, SafetensorsWriter.Tensor> e : tensors.entrySet()) {
      plan.get(i++ % plan.size()).put(e.getKey(), e.getValue().shape());
    }
    write(dir, config, plan, storage, SafetensorsWriter.Source.of(tensors));
  }

  /**
   * Tensors streamed from {@code source} chunk by chunk, so a checkpoint can be far larger than the
   * heap; consecutive tensors fill a shard until it passes {@code shardBytes}.
   */
  public static void writeStreamed(Path dir, ModelConfig config, Map<String, long[]> shapes,
      SafetensorsReader.DType storage, long shardBytes, SafetensorsWriter.Source source) throws IOException {
    List<Map<String, long[]>> plan = new ArrayList<>();
    Map<String, long[]> current = new LinkedHashMap<>();
    long bytes = 0;
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      current.put(e.getKey(), e.getValue());
      bytes += SafetensorsWriter.elements(e.getValue()) * storage.bytes;
      if (bytes >= shardBytes) {
        plan.add(current);
        current = new LinkedHashMap<>();
        bytes = 0;
      }
    }
    if (!current.isEmpty()) {
      plan.add(current);
    }
    write(dir, config, plan, storage, source);
  }

  private static void write(Path dir, ModelConfig config, List<Map<String, long[]>> plan,
      SafetensorsReader.DType storage, SafetensorsWriter.Source source) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("config.json"), config.toJson(), StandardCharsets.UTF_8);
    if (plan.size() == 1) {
      SafetensorsWriter.write(dir.resolve("model.safetensors"), plan.get(0), storage, source);
      return;
    }
    JsonObject weightMap = new JsonObject();
    long total = 0;
    for (int k = 0; k < plan.size(); k++) {
      String name = String.format("model-%05d-of-%05d.safetensors", k + 1, plan.size());
      SafetensorsWriter.write(dir.resolve(name), plan.get(k), storage, source);
      for (Map.Entry<String, long[]> t : plan.get(k).entrySet()) {
        weightMap.addProperty(t.getKey(), name);
        total += SafetensorsWriter.elements(t.getValue()) * storage.bytes;
      }
    }
    JsonObject index = new JsonObject();
    JsonObject meta = new JsonObject();
    meta.addProperty("total_size", total);
    index.add("metadata", meta);
    index.add("weight_map", weightMap);
    Files.writeString(dir.resolve("model.safetensors.index.json"),
        new GsonBuilder().setPrettyPrinting().create().toJson(index), StandardCharsets.UTF_8);
  }
}
