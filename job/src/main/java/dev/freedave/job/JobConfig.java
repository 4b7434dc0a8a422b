package dev.freedave.job;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigResolveOptions;
import dev.freedave.batch.ChatTemplate;
import dev.freedave.decode.DecodeConfig;
import dev.freedave.model.CacheMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The generate job's settings: bundled defaults, then an optional HOCON file, then command-line
 * overrides ({@code key=value} paths under {@code freedave}). Every value is checked here, on the
 * driver, so a bad config fails before any task runs.
 */
record JobConfig(String master, String modelDir, String dtype, String device, String modelId, String inputPath, String inputFormat,
    String idColumn, String promptColumn, String answerColumn, String seedColumn, ChatTemplate template,
    String outputPath, int partitions, int maxRowsInFlight, int maxSequencesPerForward, boolean auditStatic,
    int progressIntervalS, List<DecodeConfig> decoders) {

  static JobConfig load(Path file, Map<String, String> overrides) {
    Config c = ConfigFactory.empty();
    for (Map.Entry<String, String> e : overrides.entrySet()) {
      c = c.withFallback(ConfigFactory.parseString("freedave." + e.getKey() + " = " + quoteIfNeeded(e.getValue())));
    }
    if (file != null) {
      if (!Files.isRegularFile(file)) {
        throw new IllegalArgumentException("config file not found: " + file);
      }
      c = c.withFallback(ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false)));
    }
    c = c.withFallback(ConfigFactory.parseResources("freedave-defaults.conf")).resolve(ConfigResolveOptions.defaults());
    try {
      return from(c.getConfig("freedave"));
    } catch (ConfigException e) {
      throw new IllegalArgumentException("bad config: " + e.getMessage(), e);
    }
  }

  private static String quoteIfNeeded(String v) {
    // values that are HOCON themselves (lists, objects) pass through; plain strings are quoted
    String t = v.trim();
    return t.startsWith("[") || t.startsWith("{") ? t : com.typesafe.config.ConfigValueFactory.fromAnyRef(v).render();
  }

  private static JobConfig from(Config f) {
    List<DecodeConfig> decoders = new ArrayList<>();
    for (Config d : f.getConfigList("decoders")) {
      decoders.add(decoder(d));
    }
    if (decoders.isEmpty()) {
      throw new IllegalArgumentException("decoders must list at least one decoder config");
    }
    int partitions = f.getInt("partitions");
    int rows = f.getInt("batching.max-rows-in-flight");
    int seqs = f.getInt("batching.max-sequences-per-forward");
    if (partitions < 0 || rows < 1 || seqs < 1) {
      throw new IllegalArgumentException("partitions must be >= 0 and batching limits >= 1");
    }
    return new JobConfig(f.getString("master"), f.getString("model.dir"), f.getString("model.dtype"),
        f.getString("model.device"),
        f.getString("model.id"), f.getString("input.path"), f.getString("input.format"),
        f.getString("input.id-column"), f.getString("input.prompt-column"), f.getString("input.answer-column"),
        f.getString("input.seed-column"), ChatTemplate.parse(f.getString("input.chat-template")),
        f.getString("output.path"), partitions, rows, seqs, f.getBoolean("audit-static"),
        f.getInt("progress-interval-s"), decoders);
  }

  static DecodeConfig decoder(Config d) {
    DecodeConfig.Method m = DecodeConfig.Method.parse(d.getString("decoder"));
    int gen = d.hasPath("gen-length") ? d.getInt("gen-length") : 32;
    int steps = d.hasPath("steps") && d.getInt("steps") > 0 ? d.getInt("steps") : gen;
    try {
      return new DecodeConfig(m, gen, d.hasPath("block-length") ? d.getInt("block-length") : gen, steps,
          d.hasPath("draft-steps") ? d.getInt("draft-steps") : 8,
          d.hasPath("threshold") ? d.getDouble("threshold") : 0.9,
          d.hasPath("temperature") ? d.getDouble("temperature") : 0.0,
          !d.hasPath("eos-early-exit") || d.getBoolean("eos-early-exit"),
          CacheMode.parse(d.hasPath("cache") ? d.getString("cache") : "none"));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("decoder config " + d.root().render(
          com.typesafe.config.ConfigRenderOptions.concise()) + ": " + e.getMessage(), e);
    }
  }
}
