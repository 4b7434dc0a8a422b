package dev.freedave.tools;

import ai.djl.Device;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import dev.freedave.decode.DecodeConfig;
import dev.freedave.decode.DecodeRequest;
import dev.freedave.decode.DecodeResult;
import dev.freedave.decode.DecodeScheduler;
import dev.freedave.generate.AnswerCheck;
import dev.freedave.model.CacheMode;
import dev.freedave.model.ComputeDtype;
import dev.freedave.model.DefaultModel;
import dev.freedave.model.DiffusionLM;
import dev.freedave.model.LoadedModel;
import dev.freedave.model.ModelFolder;
import dev.freedave.text.TextCodec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Static, threshold, FreeDave (several K) and FreeDave++ on the same prompts in one process, one
 * row at a time and batched. Prints a table and a final one-line JSON summary.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Compare the decoders on the same prompts in one process")
final class BenchCommand implements Callable<Integer> {
  @Option(names = "--model", description = "model folder (default: the project's default model)") Path model;

  @Option(names = "--prompts", description = "JSONL (id, prompt) or text lines (default: bundled samples)")
  Path prompts;

  @Option(names = "--dtype", defaultValue = "float32") String dtype;

  @Option(names = "--device", defaultValue = "cpu") String device;

  @Option(names = "--gen-length", defaultValue = "64") int genLength;

  @Option(names = "--block-length", defaultValue = "16") int blockLength;

  @Option(names = "--k", split = ",", defaultValue = "2,4,8", description = "FreeDave draft steps to run")
  List<Integer> ks;

  @Option(names = "--k-report", defaultValue = "8", description = "the K summarised in the JSON's top-level keys")
  int kReport;

  @Option(names = "--threshold", defaultValue = "0.9") double threshold;

  @Option(names = "--batch", defaultValue = "8", description = "rows in flight in batched mode") int batch;

  @Option(names = "--max-seqs", defaultValue = "64", description = "max sequences per forward") int maxSeqs;

  @Option(names = "--cache", defaultValue = "none", description = "none, prefix or dual: the KV cache of every"
      + " decoder in the main table and JSON")
  String cache;

  @Option(names = "--no-cache-sweep", description = "skip running static and FreeDave under none / prefix / dual"
      + " and measuring the verification cost")
  boolean noCacheSweep;

  @Option(names = "--modes", split = ",", defaultValue = "batch1,batched", description = "batch1 and/or batched")
  List<String> modeNames;

  @Option(names = "--limit", defaultValue = "0", description = "use only the first N prompts (0 = all)") int limit;

  @Option(names = "--repeat", defaultValue = "1", description = "repeat the prompt list to lengthen the run")
  int repeat;

  private List<String> answers;
  private TextCodec codec;

  /** One decoder run's measurements. */
  record Run(String mode, String decoder, int k, int rows, double exactMatch, long nfe, long staticSteps,
      long tokens, long positions, double wallS, double forwardS, long forwards, Double accuracy) {
    double tokensPerS() {
      return tokens / wallS;
    }

    double tpf() {
      return nfe == 0 ? 0 : (double) tokens / nfe;
    }
  }

  @Override
  public Integer call() throws Exception {
    Path dir = model != null ? model : DefaultModel.resolve();
    List<PromptFile.Prompt> list = prompts != null ? PromptFile.read(prompts) : PromptFile.samples();
    if (limit > 0 && list.size() > limit) {
      list = list.subList(0, limit);
    }
    if (!ks.contains(kReport)) {
      ks = new ArrayList<>(ks);
      ks.add(kReport);
    }
    try (LoadedModel loaded = ModelFolder.open(dir).load(ComputeDtype.parse(dtype), Device.fromName(device))) {
      DiffusionLM lm = loaded.model();
      TextCodec codec = loaded.codec();
      List<int[]> ids = new ArrayList<>();
      answers = new ArrayList<>();
      for (int r = 0; r < repeat; r++) {
        for (PromptFile.Prompt p : list) {
          ids.add(codec.encode(p.text()));
          answers.add(p.answer());
        }
      }
      this.codec = codec;
      System.out.printf("bench: model=%s rows=%d gen_length=%d block_length=%d threshold=%s batch=%d%n", dir,
          ids.size(), genLength, blockLength, threshold, batch);
      CacheMode mainCache = CacheMode.parse(cache);
      List<DecodeConfig> configs = new ArrayList<>();
      configs.add(DecodeConfig.of(DecodeConfig.Method.STATIC, genLength, blockLength, 1, threshold).withCache(mainCache));
      configs.add(DecodeConfig.of(DecodeConfig.Method.THRESHOLD, genLength, blockLength, 1, threshold)
          .withCache(mainCache));
      for (int k : ks) {
        configs.add(DecodeConfig.of(DecodeConfig.Method.FREEDAVE, genLength, blockLength, k, threshold)
            .withCache(mainCache));
      }
      configs.add(DecodeConfig.of(DecodeConfig.Method.FREEDAVE_PP, genLength, blockLength, kReport, threshold)
          .withCache(mainCache));
      System.out.println("cache: " + mainCache.label());

      // warm-up: JIT and libtorch's first-call costs stay out of the timings
      decode(lm, ids.subList(0, 1), configs.get(0), 1, new AtomicLong(), new AtomicLong());

      Map<String, List<Run>> modes = new LinkedHashMap<>();
      for (String mode : modeNames) {
        switch (mode) {
          case "batch1" -> modes.put(mode, measure(lm, ids, configs, 1, mode));
          case "batched" -> modes.put(mode, measure(lm, ids, configs, batch, mode));
          default -> throw new IllegalArgumentException("--modes takes batch1 and/or batched, got " + mode);
        }
      }
      printTable(modes);

      Map<String, Object> json = modes.containsKey("batch1") ? summary(modes.get("batch1")) : new LinkedHashMap<>();
      json.put("cache", mainCache.label());
      if (!noCacheSweep) {
        json.put("cache_sweep", cacheSweep(lm, ids));
        json.put("verify_cost", CacheCost.measure(lm, ids.get(0).length, genLength, blockLength, List.of(1, 2, 4, 8, 16)));
      }
      if (modes.containsKey("batched")) {
        Map<String, Object> batched = summary(modes.get("batched"));
        batched.put("batch_size", batch);
        json.put("batched", batched);
      }
      json.put("rows", ids.size());
      json.put("k", kReport);
      json.put("gen_length", genLength);
      json.put("block_length", blockLength);
      json.put("model", dir.toString());
      Gson gson = new GsonBuilder().serializeSpecialFloatingPointValues().create();
      System.out.println(gson.toJson(json));
    }
    return 0;
  }

  /**
   * Static and FreeDave (each K) under every cache policy, batch 1 and batched: wall time, positions
   * computed per token, and how often cached static decoding equals cache-free static decoding.
   */
  private List<Map<String, Object>> cacheSweep(DiffusionLM lm, List<int[]> ids) {
    System.out.println();
    System.out.printf("%-8s %-6s %-9s %3s %6s %9s %10s %8s %10s %14s%n", "mode", "cache", "decoder", "K", "exact",
        "mean_nfe", "pos/token", "wall_s", "wall_ratio", "static=nocache");
    List<Map<String, Object>> out = new ArrayList<>();
    for (int rows : new int[] {1, batch}) {
      String mode = rows == 1 ? "batch1" : "batched";
      List<DecodeResult> reference = null;
      for (CacheMode c : CacheMode.values()) {
        List<DecodeConfig> cfgs = new ArrayList<>();
        cfgs.add(DecodeConfig.of(DecodeConfig.Method.STATIC, genLength, blockLength, 1, threshold).withCache(c));
        for (int k : ks) {
          cfgs.add(DecodeConfig.of(DecodeConfig.Method.FREEDAVE, genLength, blockLength, k, threshold).withCache(c));
        }
        List<DecodeResult> cachedStatic = decode(lm, ids, cfgs.get(0), rows, new AtomicLong(), new AtomicLong());
        if (c == CacheMode.NONE) {
          reference = cachedStatic;
        }
        int same = 0;
        for (int i = 0; i < ids.size(); i++) {
          same += Arrays.equals(cachedStatic.get(i).tokens(), reference.get(i).tokens()) ? 1 : 0;
        }
        double staticMatch = (double) same / ids.size();
        List<Run> runs = measure(lm, ids, cfgs, rows, mode);
        for (Run r : runs) {
          double ratio = runs.get(0).wallS() / r.wallS();
          System.out.printf("%-8s %-6s %-9s %3s %6.3f %9.2f %10.1f %8.3f %10.2f %14.3f%n", mode, c.label(),
              r.decoder(), r.k() == 0 ? "-" : Integer.toString(r.k()), r.exactMatch(), (double) r.nfe() / r.rows(),
              (double) r.positions() / r.tokens(), r.wallS(), ratio, staticMatch);
          Map<String, Object> m = new LinkedHashMap<>();
          m.put("mode", mode);
          m.put("cache", c.label());
          m.put("decoder", r.decoder());
          m.put("k", r.k());
          m.put("exact_match", r.exactMatch());
          m.put("nfe", r.nfe());
          m.put("positions_per_token", (double) r.positions() / r.tokens());
          m.put("wall_s", r.wallS());
          m.put("wall_ratio_vs_static_same_cache", ratio);
          m.put("static_exact_match_vs_no_cache", staticMatch);
          out.add(m);
        }
      }
    }
    return out;
  }

  private List<Run> measure(DiffusionLM lm, List<int[]> ids, List<DecodeConfig> configs, int rowsInFlight,
      String mode) {
    List<Run> runs = new ArrayList<>();
    List<DecodeResult> staticOut = null;
    List<DecodeResult> thresholdOut = null;
    for (DecodeConfig cfg : configs) {
      AtomicLong forwardNanos = new AtomicLong();
      AtomicLong forwards = new AtomicLong();
      long t0 = System.nanoTime();
      List<DecodeResult> out = decode(lm, ids, cfg, rowsInFlight, forwardNanos, forwards);
      double wall = (System.nanoTime() - t0) / 1e9;
      if (cfg.method() == DecodeConfig.Method.STATIC) {
        staticOut = out;
      } else if (cfg.method() == DecodeConfig.Method.THRESHOLD) {
        thresholdOut = out;
      }
      // FreeDave is judged against static, FreeDave++ against threshold decoding
      List<DecodeResult> ref = cfg.method() == DecodeConfig.Method.FREEDAVE_PP ? thresholdOut : staticOut;
      int same = 0;
      int correct = 0;
      int judged = 0;
      long nfe = 0;
      long steps = 0;
      long tokens = 0;
      long positions = 0;
      for (int i = 0; i < out.size(); i++) {
        DecodeResult r = out.get(i);
        if (r.error() != null) {
          throw new IllegalStateException("row " + i + " failed: " + r.error());
        }
        same += Arrays.equals(r.tokens(), ref.get(i).tokens()) ? 1 : 0;
        if (answers.get(i) != null) {
          judged++;
          correct += AnswerCheck.correct(completion(r.tokens(), lm), answers.get(i)) ? 1 : 0;
        }
        nfe += r.stats().nfe();
        steps += r.stats().staticSteps();
        tokens += r.stats().tokensDecoded();
        positions += r.stats().positionsComputed();
      }
      runs.add(new Run(mode, cfg.method().label, cfg.method().drafts() ? cfg.draftSteps() : 0, out.size(),
          (double) same / out.size(), nfe, steps, tokens, positions, wall, forwardNanos.get() / 1e9, forwards.get(),
          judged == 0 ? null : (double) correct / judged));
    }
    return runs;
  }

  /** The answer text: tokens up to the first end token. */
  private String completion(int[] tokens, DiffusionLM lm) {
    return codec.decode(Arrays.copyOf(tokens, lm.spec().answerLength(tokens)));
  }

  private List<DecodeResult> decode(DiffusionLM lm, List<int[]> ids, DecodeConfig cfg, int rowsInFlight,
      AtomicLong forwardNanos, AtomicLong forwards) {
    List<DecodeRequest> reqs = new ArrayList<>();
    for (int i = 0; i < ids.size(); i++) {
      reqs.add(new DecodeRequest("row-" + i, ids.get(i), cfg, i));
    }
    return new DecodeScheduler(lm, rowsInFlight, maxSeqs).onForward(e -> {
      forwardNanos.addAndGet(e.nanos());
      forwards.incrementAndGet();
    }).decodeAll(reqs);
  }

  private static void printTable(Map<String, List<Run>> modes) {
    System.out.printf("%-8s %-11s %3s %6s %8s %9s %9s %6s %10s %8s %9s %10s %9s%n", "mode", "decoder", "K", "exact",
        "accuracy", "mean_nfe", "nfe_ratio", "tpf", "pos/token", "wall_s", "tokens/s", "wall_ratio", "fwd_share");
    for (List<Run> runs : modes.values()) {
      Run base = runs.get(0);
      for (Run r : runs) {
        System.out.printf("%-8s %-11s %3s %6.3f %8s %9.2f %9.2f %6.2f %10.1f %8.3f %9.1f %10.2f %9.2f%n", r.mode(),
            r.decoder(), r.k() == 0 ? "-" : Integer.toString(r.k()), r.exactMatch(),
            r.accuracy() == null ? "-" : String.format(java.util.Locale.ROOT, "%.3f", r.accuracy()),
            (double) r.nfe() / r.rows(),
            (double) base.nfe() / r.nfe(), r.tpf(), (double) r.positions() / r.tokens(), r.wallS(), r.tokensPerS(),
            base.wallS() / r.wallS(), r.forwardS() / r.wallS());
      }
    }
  }

  private Map<String, Object> summary(List<Run> runs) {
    Run st = runs.get(0);
    Run fd = runs.stream().filter(r -> r.decoder().equals("freedave") && r.k() == kReport).findFirst().orElseThrow();
    Run th = runs.get(1);
    Run pp = runs.stream().filter(r -> r.decoder().equals("freedave++")).findFirst().orElseThrow();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("exact_match", fd.exactMatch());
    m.put("accuracy_static", st.accuracy());
    m.put("accuracy_freedave", fd.accuracy());
    m.put("nfe_static", st.nfe());
    m.put("nfe_freedave", fd.nfe());
    m.put("nfe_ratio", (double) st.nfe() / fd.nfe());
    m.put("wall_static_s", st.wallS());
    m.put("wall_freedave_s", fd.wallS());
    m.put("wall_ratio", st.wallS() / fd.wallS());
    m.put("tokens_per_s_static", st.tokensPerS());
    m.put("tokens_per_s_freedave", fd.tokensPerS());
    m.put("positions_per_token_static", (double) st.positions() / st.tokens());
    m.put("positions_per_token_freedave", (double) fd.positions() / fd.tokens());
    m.put("nfe_threshold", th.nfe());
    m.put("nfe_freedave_pp", pp.nfe());
    m.put("exact_match_freedave_pp_vs_threshold", pp.exactMatch());
    List<Map<String, Object>> perK = new ArrayList<>();
    for (Run r : runs) {
      if (r.decoder().equals("freedave")) {
        Map<String, Object> k = new LinkedHashMap<>();
        k.put("k", r.k());
        k.put("nfe", r.nfe());
        k.put("wall_s", r.wallS());
        k.put("exact_match", r.exactMatch());
        k.put("accuracy", r.accuracy());
        perK.add(k);
      }
    }
    m.put("freedave_by_k", perK);
    return m;
  }
}
