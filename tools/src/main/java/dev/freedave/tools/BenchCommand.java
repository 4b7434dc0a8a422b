package dev.freedave.tools;

import ai.djl.Device;
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
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The decoders on the same prompts in one process, for every (cache policy, rows in flight) cell:
 * static, threshold, FreeDave at each K and FreeDave++, each cell warmed up first. Prints a table per
 * cell (tokens/s and wall time against static of the same cell, exact match against the decoder it
 * must equal) and a final one-line JSON.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Compare the decoders on the same prompts in one process")
final class BenchCommand implements Callable<Integer> {
  @Option(names = "--model", description = "model folder (default: the project's default model)") Path model;

  @Option(names = "--prompts", description = "JSONL (id, prompt, answer) or text lines (default: bundled samples)")
  Path prompts;

  @Option(names = "--dtype", defaultValue = "float32") String dtype;

  @Option(names = "--device", defaultValue = "cpu") String device;

  @Option(names = "--gen-length", defaultValue = "64") int genLength;

  @Option(names = "--block-length", defaultValue = "16") int blockLength;

  @Option(names = "--k", split = ",", defaultValue = "2,4,8", description = "FreeDave draft steps to run")
  List<Integer> ks;

  @Option(names = "--k-report", defaultValue = "8", description = "the K the JSON summarises per cell") int kReport;

  @Option(names = "--threshold", defaultValue = "0.9") double threshold;

  @Option(names = "--decoders", split = ",", defaultValue = "static,threshold,freedave,freedave++",
      description = "which decoders to run (static always runs: it is the reference)")
  List<String> decoders;

  @Option(names = "--rows", split = ",", defaultValue = "1,8", description = "rows in flight, one cell each")
  List<Integer> rowsInFlight;

  @Option(names = "--cache", split = ",", defaultValue = "none", description = "none, prefix, dual: one cell each")
  List<String> caches;

  @Option(names = "--max-seqs", defaultValue = "64", description = "max sequences per forward") int maxSeqs;

  @Option(names = "--draft-budget", defaultValue = "auto", description = "auto or off (always K)")
  String draftBudget;

  @Option(names = "--limit", defaultValue = "0", description = "use only the first N prompts (0 = all)") int limit;

  @Option(names = "--repeat", defaultValue = "1", description = "repeat the prompt list to lengthen the run")
  int repeat;

  /** One decoder run's measurements. */
  record Run(String cache, int rowsInFlight, String decoder, int k, int rows, double exactMatch, long nfe,
      long staticSteps, long tokens, long positions, long drafts, double wallS, double forwardS, Double accuracy) {
    double tokensPerS() {
      return tokens / wallS;
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
      List<int[]> ids = new ArrayList<>();
      List<String> answers = new ArrayList<>();
      for (int r = 0; r < repeat; r++) {
        for (PromptFile.Prompt p : list) {
          ids.add(loaded.codec().encode(p.text()));
          answers.add(p.answer());
        }
      }
      System.out.printf(Locale.ROOT, "bench: model=%s rows=%d gen_length=%d block_length=%d threshold=%s dtype=%s "
          + "device=%s draft_budget=%s%n", dir, ids.size(), genLength, blockLength, threshold, dtype, device,
          draftBudget);
      List<Run> runs = new ArrayList<>();
      Map<Integer, List<DecodeResult>> cacheFreeStatic = new LinkedHashMap<>();
      System.out.printf("%-6s %5s %-11s %3s %6s %8s %9s %9s %6s %10s %7s %8s %9s %10s %9s %14s%n", "cache", "rows",
          "decoder", "K", "exact", "accuracy", "mean_nfe", "nfe_ratio", "tpf", "pos/token", "drafts", "wall_s",
          "tokens/s", "wall_ratio", "fwd_share", "static=nocache");
      for (String c : caches) {
        CacheMode cache = CacheMode.parse(c);
        for (int rows : rowsInFlight) {
          List<DecodeConfig> configs = configs(cache);
          for (DecodeConfig cfg : configs) { // warm-up: libtorch specialises on the shapes it sees first
            decode(loaded.model(), ids.subList(0, Math.min(ids.size(), Math.max(rows, 4))), cfg, rows, new long[1]);
          }
          List<DecodeResult> stat = null;
          List<DecodeResult> thr = null;
          List<Run> cell = new ArrayList<>();
          for (DecodeConfig cfg : configs) {
            long[] forwardNanos = {0};
            long t0 = System.nanoTime();
            List<DecodeResult> out = decode(loaded.model(), ids, cfg, rows, forwardNanos);
            double wall = (System.nanoTime() - t0) / 1e9;
            switch (cfg.method()) {
              case STATIC -> stat = out;
              case THRESHOLD -> thr = out;
              default -> { }
            }
            // FreeDave must equal static, FreeDave++ threshold decoding, under the same cache
            List<DecodeResult> ref = cfg.method() == DecodeConfig.Method.FREEDAVE_PP ? thr : stat;
            cell.add(summarise(c, rows, cfg, out, ref, answers, loaded, wall, forwardNanos[0] / 1e9));
          }
          if (cache == CacheMode.NONE) {
            cacheFreeStatic.put(rows, stat);
          }
          List<DecodeResult> free = cacheFreeStatic.get(rows);
          Double staticMatch = free == null ? null : exact(stat, free);
          Run base = cell.get(0);
          for (Run r : cell) {
            System.out.printf(Locale.ROOT, "%-6s %5d %-11s %3s %6.3f %8s %9.2f %9.2f %6.2f %10.1f %7.2f %8.3f %9.1f %10.2f %9.2f %14s%n",
                r.cache(), rows, r.decoder(), r.k() == 0 ? "-" : Integer.toString(r.k()), r.exactMatch(),
                r.accuracy() == null ? "-" : String.format(Locale.ROOT, "%.3f", r.accuracy()), (double) r.nfe() / r.rows(),
                (double) base.nfe() / r.nfe(), (double) r.tokens() / r.nfe(), (double) r.positions() / r.tokens(),
                r.nfe() == 0 ? 0 : (double) r.drafts() / r.nfe(), r.wallS(), r.tokensPerS(), base.wallS() / r.wallS(),
                r.forwardS() / r.wallS(), staticMatch == null ? "-" : String.format(Locale.ROOT, "%.3f", staticMatch));
          }
          runs.addAll(cell);
        }
      }
      System.out.println(new GsonBuilder().serializeSpecialFloatingPointValues().create().toJson(json(runs, dir,
          ids.size())));
    }
    return 0;
  }

  private List<DecodeConfig> configs(CacheMode cache) {
    List<DecodeConfig> out = new ArrayList<>();
    out.add(DecodeConfig.of(DecodeConfig.Method.STATIC, genLength, blockLength, 1, threshold).withCache(cache));
    if (decoders.contains("threshold") || decoders.contains("freedave++")) {
      out.add(DecodeConfig.of(DecodeConfig.Method.THRESHOLD, genLength, blockLength, 1, threshold).withCache(cache));
    }
    if (decoders.contains("freedave")) {
      for (int k : ks) {
        out.add(DecodeConfig.of(DecodeConfig.Method.FREEDAVE, genLength, blockLength, k, threshold).withCache(cache));
      }
    }
    if (decoders.contains("freedave++")) {
      out.add(DecodeConfig.of(DecodeConfig.Method.FREEDAVE_PP, genLength, blockLength, kReport, threshold)
          .withCache(cache));
    }
    return out;
  }

  private Run summarise(String cache, int rows, DecodeConfig cfg, List<DecodeResult> out, List<DecodeResult> ref,
      List<String> answers, LoadedModel loaded, double wall, double forwardS) {
    int correct = 0;
    int judged = 0;
    long nfe = 0;
    long steps = 0;
    long tokens = 0;
    long positions = 0;
    long drafts = 0;
    for (int i = 0; i < out.size(); i++) {
      DecodeResult r = out.get(i);
      if (r.error() != null) {
        throw new IllegalStateException("row " + i + " failed: " + r.error());
      }
      if (answers.get(i) != null) {
        judged++;
        int[] t = r.tokens();
        String text = loaded.codec().decode(Arrays.copyOf(t, loaded.model().spec().answerLength(t)));
        correct += AnswerCheck.correct(text, answers.get(i)) ? 1 : 0;
      }
      nfe += r.stats().nfe();
      steps += r.stats().staticSteps();
      tokens += r.stats().tokensDecoded();
      positions += r.stats().positionsComputed();
      drafts += r.stats().draftsVerified();
    }
    return new Run(cache, rows, cfg.method().label, cfg.method().drafts() ? cfg.draftSteps() : 0, out.size(),
        exact(out, ref), nfe, steps, tokens, positions, drafts, wall, forwardS,
        judged == 0 ? null : (double) correct / judged);
  }

  private static double exact(List<DecodeResult> got, List<DecodeResult> ref) {
    int same = 0;
    for (int i = 0; i < got.size(); i++) {
      same += Arrays.equals(got.get(i).tokens(), ref.get(i).tokens()) ? 1 : 0;
    }
    return (double) same / got.size();
  }

  /** Decodes every prompt; adds the time spent in forwards (and their predictions) to {@code forwardNanos[0]}. */
  private List<DecodeResult> decode(DiffusionLM lm, List<int[]> ids, DecodeConfig cfg, int rowsInFlight,
      long[] forwardNanos) {
    List<DecodeRequest> reqs = new ArrayList<>();
    for (int i = 0; i < ids.size(); i++) {
      reqs.add(new DecodeRequest("row-" + i, ids.get(i), cfg, i));
    }
    return new DecodeScheduler(lm, rowsInFlight, maxSeqs, draftBudget).onForward(e -> forwardNanos[0] += e.nanos())
        .decodeAll(reqs);
  }

  /** Per cell: static against FreeDave at --k-report, and every run. */
  private Map<String, Object> json(List<Run> runs, Path dir, int rows) {
    List<Map<String, Object>> cells = new ArrayList<>();
    for (Run st : runs) {
      if (!st.decoder().equals("static")) {
        continue;
      }
      Map<String, Object> cell = new LinkedHashMap<>();
      cell.put("cache", st.cache());
      cell.put("rows_in_flight", st.rowsInFlight());
      cell.put("tokens_per_s_static", st.tokensPerS());
      cell.put("accuracy_static", st.accuracy());
      runs.stream().filter(r -> r.cache().equals(st.cache()) && r.rowsInFlight() == st.rowsInFlight()
          && r.decoder().equals("freedave") && r.k() == kReport).findFirst().ifPresent(fd -> {
            cell.put("tokens_per_s_freedave", fd.tokensPerS());
            cell.put("freedave_over_static_tokens_per_s", fd.tokensPerS() / st.tokensPerS());
            cell.put("nfe_ratio", (double) st.nfe() / fd.nfe());
            cell.put("exact_match", fd.exactMatch());
            cell.put("drafts_per_forward", fd.nfe() == 0 ? 0 : (double) fd.drafts() / fd.nfe());
          });
      cells.add(cell);
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("model", dir.toString());
    m.put("rows", rows);
    m.put("k", kReport);
    m.put("gen_length", genLength);
    m.put("block_length", blockLength);
    m.put("dtype", dtype);
    m.put("device", device);
    m.put("draft_budget", draftBudget);
    m.put("cells", cells);
    m.put("runs", runs);
    return m;
  }
}
