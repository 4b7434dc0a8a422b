package dev.freedave.model;

import ai.djl.Device;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.freedave.text.TextCodec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * A model folder read once: its config (a Hugging Face {@code config.json}, or the
 * {@value TorchScriptModel#SPEC_FILE} of a TorchScript export), its tokenizer, and the complete
 * {@link ModelSpec} both imply. The driver {@link #validate}s it before any task; each executor opens
 * it again (the folder is at the same path everywhere) and {@link #load}s it once per JVM.
 */
public final class ModelFolder {
  private final Path dir;
  private final ModelConfig config; // null for a TorchScript export
  private final TorchScriptModel.Export export; // null for a checkpoint
  private final String tokenizerJson; // null when the folder has no tokenizer
  private final ModelSpec spec; // null when the checkpoint names no mask id

  private ModelFolder(Path dir, ModelConfig config, TorchScriptModel.Export export, String tokenizerJson,
      ModelSpec spec) {
    this.dir = dir;
    this.config = config;
    this.export = export;
    this.tokenizerJson = tokenizerJson;
    this.spec = spec;
  }

  /** Reads the folder's config and tokenizer files; fails with the file and key at fault. */
  public static ModelFolder open(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      throw new ModelLoadException("model folder " + dir + " does not exist");
    }
    String tokenizer = TextCodec.tokenizerJson(dir).orElse(null);
    Map<String, Integer> added = tokenizer == null ? Map.of() : TextCodec.addedTokens(tokenizer, dir);
    if (TorchScriptModel.isExport(dir)) {
      TorchScriptModel.Export export = TorchScriptModel.Export.read(dir);
      return new ModelFolder(dir, null, export, tokenizer, export.spec().withAddedTokens(added, export.family()));
    }
    Path configFile = dir.resolve("config.json");
    JsonObject json = readObject(configFile);
    ModelConfig config = ModelConfig.parse(json, configFile.toString());
    // a config without a mask id (SDAR's) leaves it to the tokenizer files' mask_token, as its authors' code reads it
    Map<String, String> named = TextCodec.namedSpecialTokens(dir);
    String maskName = named.get("mask_token");
    if (maskName != null && !json.has("mask_token_id")) {
      config = config.withMaskTokenId(addedId(added, maskName, "mask_token", dir));
    }
    // no mask id at all, or only a family default this vocabulary cannot hold: logits, but no decoding
    boolean noMask = config.maskTokenId() < 0
        || (!json.has("mask_token_id") && maskName == null && config.maskTokenId() >= config.vocabSize());
    ModelSpec spec = noMask ? null : ModelSpec.of(config).withAddedTokens(added, config.family());
    if (spec != null && named.containsKey("eos_token") && added.containsKey(named.get("eos_token"))) {
      spec = spec.withEndToken(added.get(named.get("eos_token")));
    }
    return new ModelFolder(dir, config, null, tokenizer, spec);
  }

  private static int addedId(Map<String, Integer> added, String content, String role, Path dir) {
    Integer id = added.get(content);
    if (id == null) {
      throw new ModelLoadException("the tokenizer files of " + dir + " name " + role + " '" + content
          + "', which tokenizer.json does not hold as an added token");
    }
    return id;
  }

  static JsonObject readObject(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new ModelLoadException("no " + file.getFileName() + " in model folder " + file.getParent());
    }
    try {
      return JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject();
    } catch (RuntimeException e) {
      throw new ModelLoadException(file + " is not a JSON object: " + e.getMessage(), e);
    }
  }

  /** Files up to this size are hashed whole; larger ones (weights) by {@link #sampledDigest}. */
  private static final long WHOLE_FILE_BYTES = 8L << 20;
  private static final int SAMPLE_BYTES = 4096;
  private static final int SAMPLES = 256;

  /**
   * A content fingerprint of the folder, cheap enough for the driver on any model size: the name,
   * size and bytes of every regular file (dot-files and {@code *.md} aside), where a file over 8 MiB
   * contributes its first and last MiB and 256 evenly spaced 4 KiB blocks. Another checkpoint (other
   * weights, config or tokenizer) under the same path changes it; an edit confined to bytes the
   * samples miss would not, which is why {@code model_id} stays in the config hash too.
   */
  public String fingerprint() throws IOException {
    MessageDigest md = sha256();
    List<Path> files = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path p : ds) {
        String name = p.getFileName().toString();
        if (Files.isRegularFile(p) && !name.startsWith(".") && !name.endsWith(".md")) {
          files.add(p);
        }
      }
    }
    files.sort(null);
    for (Path p : files) {
      long size = Files.size(p);
      md.update((p.getFileName() + "|" + size + "|").getBytes(StandardCharsets.UTF_8));
      sampledDigest(p, size, md);
    }
    return HexFormat.of().formatHex(md.digest(), 0, 16);
  }

  private static void sampledDigest(Path file, long size, MessageDigest md) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      if (size <= WHOLE_FILE_BYTES) {
        digestRange(ch, 0, size, md);
        return;
      }
      digestRange(ch, 0, 1 << 20, md);
      for (int i = 0; i < SAMPLES; i++) {
        digestRange(ch, (size - SAMPLE_BYTES) / SAMPLES * i, SAMPLE_BYTES, md);
      }
      digestRange(ch, size - (1 << 20), 1 << 20, md);
    }
  }

  private static void digestRange(FileChannel ch, long from, long length, MessageDigest md) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(64 << 10);
    long pos = from;
    long end = from + length;
    while (pos < end) {
      buf.clear().limit((int) Math.min(buf.capacity(), end - pos));
      int n = ch.read(buf, pos);
      if (n < 0) {
        throw new IOException("file shrank while being read: " + ch);
      }
      pos += n;
      md.update(buf.flip());
    }
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  public boolean isTorchScript() {
    return export != null;
  }

  /** What the decoders need; fails when the checkpoint names no mask id (it cannot be decoded). */
  public ModelSpec spec() {
    if (spec == null) {
      throw new ModelLoadException("model folder " + dir + " names no mask token (config.json's mask_token_id, or "
          + "mask_token in tokenizer_config.json / special_tokens_map.json); it cannot be decoded");
    }
    return spec;
  }

  /**
   * Everything that can be checked without loading weights, for the driver: the spec, every
   * tensor's presence and shape (headers only) or the export's module file, and a tokenizer that
   * builds and encodes.
   */
  public void validate() throws IOException {
    spec();
    if (export != null) {
      export.checkModuleFile();
    } else {
      try (Checkpoint ckpt = Checkpoint.open(dir)) {
        ckpt.validate(new WeightNames(config).expected());
      }
    }
    try (TextCodec codec = codec()) {
      codec.encode("probe");
    }
  }

  /** A new tokenizer from the folder's tokenizer files, as read at {@link #open}. */
  public TextCodec codec() {
    if (tokenizerJson == null) {
      throw TextCodec.noTokenizer(dir);
    }
    return TextCodec.fromJson(tokenizerJson, dir);
  }

  /** The model alone (no tokenizer needed), e.g. to compare logits. */
  public DiffusionLM loadModel(ComputeDtype dtype, Device device) throws IOException {
    return export != null ? TorchScriptModel.load(export, spec(), device)
        : LlamaFamilyModel.load(dir, config, spec, dtype, device);
  }

  /** Model and tokenizer, what an executor decodes with. */
  public LoadedModel load(ComputeDtype dtype, Device device) throws IOException {
    TextCodec codec = codec();
    try {
      spec();
      return new LoadedModel(loadModel(dtype, device), codec);
    } catch (IOException | RuntimeException e) {
      codec.close();
      throw e;
    }
  }
}
