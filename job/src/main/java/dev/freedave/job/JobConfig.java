package dev.freedave.job;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigResolveOptions;
import com.typesafe.config.ConfigValueFactory;
import dev.freedave.decode.DecodeConfig;
import dev.freedave.model.CacheMode;
import dev.freedave.model.ComputeDtype;
import dev.freedave.spark.FreeDaveGenerator;
import dev.freedave.text.ChatTemplate;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The generate job's settings: bundled defaults, then an optional HOCON file, then command-line
 * overrides ({@code key=value} paths under {@code freedave}). Every value is parsed here, on the
 * driver, so a bad config fails before any task runs, with the key in the message.
 */
public record JobConfig(String master, String modelDir, ComputeDtype dtype, String device, String modelId,
    String inputPath, String inputFormat, String idColumn, String promptColumn, String answerColumn,
    String seedColumn, ChatTemplate template, String outputPath, int partitions, int maxRowsInFlight,
    int maxSequencesPerForward, String draftBudget, boolean auditStatic, int progressIntervalS,
    List<DecodeConfig> decoders) {

  public static JobConfig load(Path file, Map<String, String> overrides) {
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
    Config defaults = ConfigFactory.parseResources("freedave-defaults.conf");
    c = c.withFallback(defaults).resolve(ConfigResolveOptions.defaults());
    try {
      Config f = c.getConfig("freedave");
      refuseUnknownKeys(f, defaults.getConfig("freedave"));
      return from(f);
    } catch (ConfigException e) {
      throw new IllegalArgumentException("bad config: " + e.getMessage(), e);
    }
  }

  /** The keys a decoder entry may set. */
  static final List<String> DECODER_KEYS = List.of("decoder", "gen-length", "block-length", "steps", "draft-steps",
      "threshold", "temperature", "eos-early-exit", "cache");

  /**
   * A key under {@code freedave} that the defaults do not have, or a decoder entry's key outside
   * {@link #DECODER_KEYS}, is a typo that would otherwise run silently with the default (the output
   * columns' spelling, {@code gen_length}, is the usual one): refused, with the closest known key.
   */
  private static void refuseUnknownKeys(Config f, Config defaults) {
    List<String> known = paths(defaults);
    for (String key : paths(f)) {
      if (known.contains(key)) {
        continue;
      }
      String section = known.stream().filter(k -> k.startsWith(key + ".")).findFirst().orElse(null);
      String hint = section != null ? ": it is a section, set its keys (e.g. " + section + ")"
          : DECODER_KEYS.contains(normalised(key)) ? ": decoder params go in a decoders entry, e.g. decoders = "
              + "[{decoder = freedave, " + normalised(key) + " = ...}]"
          : didYouMean(key, known);
      throw new IllegalArgumentException("unknown config key freedave." + key + hint);
    }
    for (String key : known) {
      if (!f.hasPath(key)) { // a plain value given for a section hides the section's defaults
        String section = key.substring(0, key.lastIndexOf('.'));
        throw new IllegalArgumentException("config key freedave." + key + " has no value: freedave." + section
            + " was set to a plain value somewhere, which replaces the whole section; set the section's keys "
            + "instead, e.g. " + key);
      }
    }
    for (Config d : f.getConfigList("decoders")) {
      for (String key : d.root().keySet()) {
        if (!DECODER_KEYS.contains(key)) {
          throw new IllegalArgumentException("unknown key '" + key + "' in decoder config "
              + d.root().render(ConfigRenderOptions.concise()) + didYouMean(key, DECODER_KEYS) + " (a decoder sets: "
              + String.join(", ", DECODER_KEYS) + ")");
        }
      }
    }
  }

  private static List<String> paths(Config c) {
    return c.entrySet().stream().map(Map.Entry::getKey).toList();
  }

  /** "; did you mean K?" for the known key nearest to {@code key} (edit distance, - and _ alike), if near. */
  static String didYouMean(String key, List<String> known) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String k : known) {
      int d = editDistance(normalised(key), k);
      if (d < bestDistance) {
        bestDistance = d;
        best = k;
      }
    }
    return best != null && bestDistance <= Math.max(2, key.length() / 3) ? "; did you mean " + best + "?" : "";
  }

  private static String normalised(String key) {
    return key.replace('_', '-').toLowerCase(java.util.Locale.ROOT);
  }

  private static int editDistance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        cur[j] = Math.min(sub, Math.min(prev[j], cur[j - 1]) + 1);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  private static String quoteIfNeeded(String v) {
    // values that are HOCON themselves (lists, objects) pass through; plain strings are quoted
    String t = v.trim();
    return t.startsWith("[") || t.startsWith("{") ? t : ConfigValueFactory.fromAnyRef(v).render();
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
    check(partitions >= 0, "partitions", "must be >= 0, got " + partitions);
    check(rows >= 1, "batching.max-rows-in-flight", "must be >= 1, got " + rows);
    check(seqs >= 1, "batching.max-sequences-per-forward", "must be >= 1, got " + seqs);
    String budget = f.getString("batching.draft-budget");
    check(budget.equals("auto") || budget.equals("off"), "batching.draft-budget", "must be auto or off, got '"
        + budget + "'");
    String device = f.getString("model.device");
    check(device.matches("auto|cpu|gpu|gpu:[0-9]+"), "model.device", "must be auto, cpu, gpu or gpu:N, got '"
        + device + "'");
    return new JobConfig(f.getString("master"), f.getString("model.dir"),
        parsed(f, "model.dtype", ComputeDtype::parse), device, f.getString("model.id"),
        f.getString("input.path"), f.getString("input.format"), f.getString("input.id-column"),
        f.getString("input.prompt-column"), f.getString("input.answer-column"), f.getString("input.seed-column"),
        parsed(f, "input.chat-template", ChatTemplate::parse), f.getString("output.path"), partitions, rows, seqs,
        budget, f.getBoolean("audit-static"), f.getInt("progress-interval-s"), decoders);
  }

  /** A string key through its parser; a refusal names the key. */
  private static <T> T parsed(Config f, String key, Function<String, T> parser) {
    try {
      return parser.apply(f.getString(key));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(key + ": " + e.getMessage(), e);
    }
  }

  private static void check(boolean ok, String key, String problem) {
    if (!ok) {
      throw new IllegalArgumentException(key + " " + problem);
    }
  }

  static DecodeConfig decoder(Config d) {
    try {
      DecodeConfig.Method m = DecodeConfig.Method.parse(d.getString("decoder"));
      int gen = d.hasPath("gen-length") ? d.getInt("gen-length") : 32;
      int steps = d.hasPath("steps") && d.getInt("steps") > 0 ? d.getInt("steps") : gen;
      return new DecodeConfig(m, gen, d.hasPath("block-length") ? d.getInt("block-length") : gen, steps,
          d.hasPath("draft-steps") ? d.getInt("draft-steps") : 8,
          d.hasPath("threshold") ? d.getDouble("threshold") : 0.9,
          d.hasPath("temperature") ? d.getDouble("temperature") : 0.0,
          !d.hasPath("eos-early-exit") || d.getBoolean("eos-early-exit"),
          CacheMode.parse(d.hasPath("cache") ? d.getString("cache") : "none"));
    } catch (IllegalArgumentException | ConfigException e) {
      throw new IllegalArgumentException("decoder config " + d.root().render(ConfigRenderOptions.concise()) + ": "
          + e.getMessage(), e);
    }
  }

  /** The transformer with everything but the decoder config set from this job's settings. */
  FreeDaveGenerator generator() {
    return new FreeDaveGenerator().setModel(modelDir.isBlank() ? dev.freedave.model.DefaultModel.NAME : modelDir)
        .setDtype(dtype.label()).setDevice(device).setModelId(modelId).setChatTemplate(template.name())
        .setIdCol("id").setInputCol("prompt").setAnswerCol("answer").setSeedCol("seed").setAuditStatic(auditStatic)
        .setMaxRowsInFlight(maxRowsInFlight).setMaxSequencesPerForward(maxSequencesPerForward)
        .setDraftBudget(draftBudget);
  }
}
