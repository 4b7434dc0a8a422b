package dev.freedave.tools;

import ai.djl.Device;
import ai.djl.pytorch.jni.JniUtils;
import com.google.gson.GsonBuilder;
import dev.freedave.decode.DecodeConfig;
import dev.freedave.decode.DecodeRequest;
import dev.freedave.decode.DecodeResult;
import dev.freedave.decode.DecodeScheduler;
import dev.freedave.generate.AnswerCheck;
import dev.freedave.model.CacheMode;
import dev.freedave.model.ComputeDtype;
import dev.freedave.model.CudaGraphs;
import dev.freedave.model.DefaultModel;
import dev.freedave.model.DiffusionLM;
import dev.freedave.model.LoadedModel;
import dev.freedave.model.ModelFolder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The decoders on the same prompts in one process, for every (cache policy, rows in flight) cell:
 * static, threshold, FreeDave at each K and FreeDave++. For each number of rows in flight, every
 * decoder under every cache policy first runs the prompts once untimed (the warm-up), then
 * {@code --trials} timed passes, all of them taking turns. Prints a table (tokens/s and wall time
 * against static of the same cell and against static without a cache: the median pass, the range
 * over passes, the warm-up's ratio; exact match against the decoder it must equal, in every pass)
 * and a final one-line JSON.
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

  @Option(names = "--trials", defaultValue = "1", description = "timed passes per decoder, alternating between "
      + "decoders; the table shows the median pass and the range of its wall ratio")
  int trials;

  @Option(names = "--trace", description = "after the timed passes, one more pass per decoder whose first "
      + "--trace-steps steps run under libtorch's profiler: a Chrome trace per run in this folder "
      + "(notebooks/profile_summary.py sums its ops)")
  Path trace;

  @Option(names = "--trace-steps", defaultValue = "40") int traceSteps;

  @Option(names = "--shape-times", defaultValue = "0", description = "after the table, per run its N forward "
      + "shapes of most time in its median pass: count and mean ms, beside static's mean for the same shape in "
      + "its cell (where a decoder's time goes, and whether one shape costs the decoders alike)")
  int shapeTimes;

  /** Every forward shape this process has run, to count those a timed pass meets for the first time. */
  private final Set<String> seenShapes = new HashSet<>();

  /**
   * One decoder run's measurements: the median of its timed passes ({@code trialWallS} all of them,
   * in order), the untimed warm-up pass's wall, and how many forward shapes the median pass ran for
   * the first time in this process (each a compile on a GPU); of the median pass's forwards that
   * carried FreeDave rows, the mean draft count the budget set ({@code draftLimit}, NaN: none) and the
   * share run while its guard held drafts back.
   */
  record Run(String cache, int rowsInFlight, String decoder, int k, int rows, double exactMatch, long nfe,
      long staticSteps, long tokens, long positions, long drafts, double wallS, double forwardS, Double accuracy,
      double coldWallS, int newShapes, double[] trialWallS, double draftLimit, double vetoedShare) {
    double tokensPerS() {
      return tokens / wallS;
    }
  }

  /** One timed pass; the budget's draft counts and vetoes over its forwards with FreeDave rows. */
  private record Timed(List<DecodeResult> out, double wallS, double forwardS, int newShapes, double draftLimit,
      double vetoedShare, Map<String, ShapeTime> shapes) {}

  /** The forwards of one shape in a pass: how many, and their time (the forward and its predictions). */
  static final class ShapeTime {
    long count;
    long nanos;

    double meanMs() {
      return nanos / 1e6 / count;
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
          + "device=%s draft_budget=%s trials=%d%n", dir, ids.size(), genLength, blockLength, threshold, dtype, device,
          draftBudget, trials);
      List<Run> runs = new ArrayList<>();
      System.out.printf("%-6s %5s %-11s %3s %6s %8s %9s %9s %6s %10s %7s %6s %7s %8s %9s %10s %9s %10s %10s %9s %8s %9s %14s %13s%n",
          "cache", "rows", "decoder", "K", "exact", "accuracy", "mean_nfe", "nfe_ratio", "tpf", "pos/token", "drafts",
          "k_set", "vetoed",
          "wall_s", "tokens/s", "wall_ratio", "range", "cold_ratio", "new_shapes", "fwd_share", "vs_none", "range",
          "static=nocache", "static=rows" + rowsInFlight.get(0));
      // static decoding's tokens at the first --rows, per cache: rows are independent, so where static
      // at more rows differs from them, batching alone moved the tokens (a numerics effect: other
      // shapes, other kernels, near-tied logits), the yardstick for FreeDave's exact match
      Map<String, List<DecodeResult>> firstStatic = new LinkedHashMap<>();
      List<String> shapeLines = new ArrayList<>();
      for (int rows : rowsInFlight) {
        List<Cell> cells = cells(loaded, ids, answers, rows);
        Cell free = cells.stream().filter(c -> CacheMode.parse(c.runs().get(0).cache()) == CacheMode.NONE)
            .findFirst().orElse(null);
        Run none = free == null ? null : free.runs().get(0);
        for (Cell cell : cells) {
          Run base = cell.runs().get(0);
          Double staticMatch = free == null ? null : exact(cell.staticOut(), free.staticOut());
          double sameAsFirst = exact(cell.staticOut(), firstStatic.computeIfAbsent(base.cache(), c -> cell.staticOut()));
          for (Run r : cell.runs()) {
            System.out.printf(Locale.ROOT, "%-6s %5d %-11s %3s %6.3f %8s %9.2f %9.2f %6.2f %10.1f %7.2f %6s %7s %8.3f %9.1f %10.2f %9s %10.2f %10d %9.2f %8s %9s %14s %13.3f%n",
                r.cache(), rows, r.decoder(), r.k() == 0 ? "-" : Integer.toString(r.k()), r.exactMatch(),
                r.accuracy() == null ? "-" : String.format(Locale.ROOT, "%.3f", r.accuracy()), (double) r.nfe() / r.rows(),
                (double) base.nfe() / r.nfe(), (double) r.tokens() / r.nfe(), (double) r.positions() / r.tokens(),
                r.nfe() == 0 ? 0 : (double) r.drafts() / r.nfe(), fixed(r.draftLimit(), "%.2f"),
                fixed(r.vetoedShare(), "%.2f"), r.wallS(), r.tokensPerS(), base.wallS() / r.wallS(),
                spread(r, base), base.coldWallS() / r.coldWallS(), r.newShapes(), r.forwardS() / r.wallS(),
                none == null ? "-" : String.format(Locale.ROOT, "%.2f", none.wallS() / r.wallS()),
                none == null ? "-" : spread(r, none),
                staticMatch == null ? "-" : String.format(Locale.ROOT, "%.3f", staticMatch), sameAsFirst);
          }
          runs.addAll(cell.runs());
          shapeLines.addAll(shapeTimes(cell));
        }
      }
      shapeLines.forEach(System.out::println);
      System.out.println(CudaGraphs.summary());
      System.out.println(new GsonBuilder().serializeSpecialFloatingPointValues().create().toJson(json(runs, dir,
          ids.size())));
    }
    return 0;
  }

  /**
   * The cells of one number of rows in flight, one per cache policy: every decoder's warm-up pass
   * under every cache, then the timed passes of them all in turns (and the traced ones).
   */
  private List<Cell> cells(LoadedModel loaded, List<int[]> ids, List<String> answers, int rows) throws IOException {
    List<List<DecodeConfig>> byCache = new ArrayList<>();
    List<DecodeConfig> configs = new ArrayList<>();
    for (String c : caches) {
      byCache.add(configs(CacheMode.parse(c)));
      configs.addAll(byCache.get(byCache.size() - 1));
    }
    // warm-up: each decoder once over the same prompts, untimed. libtorch compiles its fused kernels
    // for every input shape on first sight (15-20 ms each on the H200, docs/results.md "Shape
    // buckets"); a partition of thousands of rows pays that once per shape, a bench of 64 rows would
    // pay it in its timed run. The warm-up's wall is reported as the cold ratio.
    double[] cold = new double[configs.size()];
    for (int i = 0; i < configs.size(); i++) {
      long t0 = System.nanoTime();
      decode(loaded.model(), ids, configs.get(i), rows, null);
      cold[i] = (System.nanoTime() - t0) / 1e9;
    }
    List<List<Timed>> timed = new ArrayList<>();
    configs.forEach(cfg -> timed.add(new ArrayList<>()));
    // every decoder under every cache takes a turn in each trial, so that drift (static's tokens/s
    // moved 30-50 % between runs minutes apart on the H200) hits all alike and the caches compare
    for (int trial = 0; trial < trials; trial++) {
      for (int i = 0; i < configs.size(); i++) {
        timed.get(i).add(timedDecode(loaded.model(), ids, configs.get(i), rows, null));
      }
    }
    for (DecodeConfig cfg : trace == null ? List.<DecodeConfig>of() : configs) { // the profiler slows what it records
      String name = cfg.cache().label() + "-" + rows + "-" + cfg.method().label
          + (cfg.method().drafts() ? "-k" + cfg.draftSteps() : "");
      timedDecode(loaded.model(), ids, cfg, rows, trace.resolve(name + ".json"));
    }
    List<Cell> cells = new ArrayList<>();
    int i = 0;
    for (int ci = 0; ci < caches.size(); ci++) {
      String c = caches.get(ci);
      List<DecodeResult> stat = null;
      List<DecodeResult> thr = null;
      List<Run> cell = new ArrayList<>();
      List<Map<String, ShapeTime>> shapes = new ArrayList<>();
      for (DecodeConfig cfg : byCache.get(ci)) {
        Timed median = median(timed.get(i));
        shapes.add(median.shapes());
        switch (cfg.method()) {
          case STATIC -> stat = median.out();
          case THRESHOLD -> thr = median.out();
          default -> { }
        }
        // FreeDave must equal static, FreeDave++ threshold decoding, under the same cache, in every pass
        List<DecodeResult> ref = cfg.method() == DecodeConfig.Method.FREEDAVE_PP ? thr : stat;
        double exact = timed.get(i).stream().mapToDouble(t -> exact(t.out(), ref)).min().orElseThrow();
        double[] walls = timed.get(i).stream().mapToDouble(Timed::wallS).toArray();
        cell.add(summarise(c, rows, cfg, median, walls, exact, answers, loaded, cold[i]));
        i++;
      }
      cells.add(new Cell(cell, stat, shapes));
    }
    return cells;
  }

  /**
   * A cell's runs, static's first, and static's results (the reference of the other cells' static);
   * {@code shapes}: each run's median pass by forward shape, in the order of the runs.
   */
  private record Cell(List<Run> runs, List<DecodeResult> staticOut, List<Map<String, ShapeTime>> shapes) {}

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

  /** A run from its median pass; {@code walls}: every pass's wall, in order. */
  private Run summarise(String cache, int rows, DecodeConfig cfg, Timed median, double[] walls, double exact,
      List<String> answers, LoadedModel loaded, double coldWallS) {
    List<DecodeResult> out = median.out();
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
        exact, nfe, steps, tokens, positions, drafts, median.wallS(), median.forwardS(),
        judged == 0 ? null : (double) correct / judged, coldWallS, median.newShapes(), walls, median.draftLimit(),
        median.vetoedShare());
  }

  /**
   * --shape-times: per run of {@code cell}, its forward time, that time with every shape static also
   * ran priced at static's mean, and its shapes of most time (count, mean ms, share of its forward
   * time) beside static's mean ms for the same shape in the same cell ("-": static never ran it).
   */
  private List<String> shapeTimes(Cell cell) {
    List<String> out = new ArrayList<>();
    if (shapeTimes <= 0) {
      return out;
    }
    Map<String, ShapeTime> base = cell.shapes().get(0);
    double baseS = base.values().stream().mapToLong(t -> t.nanos).sum() / 1e9;
    for (int i = 0; i < cell.runs().size(); i++) {
      Run r = cell.runs().get(i);
      Map<String, ShapeTime> mine = cell.shapes().get(i);
      long total = mine.values().stream().mapToLong(t -> t.nanos).sum();
      // the pass's forwards re-timed at static's mean wherever static ran the same shape: what its
      // choices of shapes cost, apart from how fast the machine ran that shape during each pass
      double repriced = mine.entrySet().stream().mapToDouble(e -> base.containsKey(e.getKey())
          ? e.getValue().count * base.get(e.getKey()).meanMs() / 1e3 : e.getValue().nanos / 1e9).sum();
      out.add(String.format(Locale.ROOT, "shapes %s rows=%d %s%s: %d shapes, %.3f s in forwards; at static's "
          + "speed of the shapes both ran %.3f s, static's forwards / that %.2f", r.cache(), r.rowsInFlight(),
          r.decoder(), r.k() == 0 ? "" : " K=" + r.k(), mine.size(), total / 1e9, repriced, baseS / repriced));
      mine.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue().nanos, a.getValue().nanos)).limit(shapeTimes)
          .forEach(e -> {
            ShapeTime t = e.getValue();
            ShapeTime s = base.get(e.getKey());
            out.add(String.format(Locale.ROOT, "  %6d x %8.3f ms  %5.1f %%  static %8s ms  %s", t.count, t.meanMs(),
                100.0 * t.nanos / total, s == null ? "-" : String.format(Locale.ROOT, "%.3f", s.meanMs()), e.getKey()));
          });
    }
    return out;
  }

  /** The pass of median wall (the lower middle one of an even count). */
  private static Timed median(List<Timed> passes) {
    List<Timed> sorted = new ArrayList<>(passes);
    sorted.sort(Comparator.comparingDouble(Timed::wallS));
    return sorted.get((sorted.size() - 1) / 2);
  }

  /** {@code v} in {@code format}, "-" for NaN (a run without FreeDave rows). */
  private static String fixed(double v, String format) {
    return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, format, v);
  }

  /** min-max over trials of static's wall / this run's wall, pass by pass ("-" with one trial). */
  private static String spread(Run r, Run base) {
    if (r.trialWallS().length < 2) {
      return "-";
    }
    double lo = Double.MAX_VALUE;
    double hi = 0;
    for (int t = 0; t < r.trialWallS().length; t++) {
      double ratio = base.trialWallS()[t] / r.trialWallS()[t];
      lo = Math.min(lo, ratio);
      hi = Math.max(hi, ratio);
    }
    return String.format(Locale.ROOT, "%.2f-%.2f", lo, hi);
  }

  private static double exact(List<DecodeResult> got, List<DecodeResult> ref) {
    int same = 0;
    for (int i = 0; i < got.size(); i++) {
      same += Arrays.equals(got.get(i).tokens(), ref.get(i).tokens()) ? 1 : 0;
    }
    return (double) same / got.size();
  }

  /**
   * A timed pass: its wall, the time spent in forwards (and their predictions), the shapes it met
   * first; with {@code traceFile}, its first {@link #traceSteps} steps under libtorch's profiler.
   */
  private Timed timedDecode(DiffusionLM lm, List<int[]> ids, DecodeConfig cfg, int rowsInFlight, Path traceFile)
      throws IOException {
    long[] forwardNanos = {0};
    int[] steps = {0};
    long[] drafting = {0, 0, 0}; // forwards with FreeDave rows, their draft limits summed, those vetoed
    Set<String> fresh = new HashSet<>();
    Map<String, ShapeTime> shapes = new HashMap<>();
    if (traceFile != null) {
      Files.createDirectories(traceFile.getParent());
      JniUtils.startProfile(false, false, false);
    }
    long t0 = System.nanoTime();
    List<DecodeResult> out = decode(lm, ids, cfg, rowsInFlight, e -> {
      forwardNanos[0] += e.nanos();
      ShapeTime st = shapes.computeIfAbsent(e.shape(), k -> new ShapeTime());
      st.count++;
      st.nanos += e.nanos();
      if (e.draftLimit() > 0) {
        drafting[0]++;
        drafting[1] += e.draftLimit();
        drafting[2] += e.vetoed() ? 1 : 0;
      }
      if (!seenShapes.contains(e.shape())) {
        fresh.add(e.shape());
      }
      if (traceFile != null && ++steps[0] == traceSteps) {
        JniUtils.stopProfile(traceFile.toString());
      }
    });
    double wall = (System.nanoTime() - t0) / 1e9;
    if (traceFile != null && steps[0] < traceSteps) {
      JniUtils.stopProfile(traceFile.toString());
    }
    return new Timed(out, wall, forwardNanos[0] / 1e9, fresh.size(), (double) drafting[1] / drafting[0],
        (double) drafting[2] / drafting[0], shapes);
  }

  /** Decodes every prompt; {@code listener} (may be null) hears of every forward. */
  private List<DecodeResult> decode(DiffusionLM lm, List<int[]> ids, DecodeConfig cfg, int rowsInFlight,
      Consumer<DecodeScheduler.ForwardEvent> listener) {
    List<DecodeRequest> reqs = new ArrayList<>();
    for (int i = 0; i < ids.size(); i++) {
      reqs.add(new DecodeRequest("row-" + i, ids.get(i), cfg, i));
    }
    return new DecodeScheduler(lm, rowsInFlight, maxSeqs, draftBudget).onForward(e -> {
      if (listener != null) {
        listener.accept(e);
      }
      seenShapes.add(e.shape());
    }).decodeAll(reqs);
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
      runs.stream().filter(r -> CacheMode.parse(r.cache()) == CacheMode.NONE && r.rowsInFlight() == st.rowsInFlight()
          && r.decoder().equals("static")).findFirst()
          .ifPresent(none -> cell.put("static_over_nocache_static_tokens_per_s", none.wallS() / st.wallS()));
      runs.stream().filter(r -> r.cache().equals(st.cache()) && r.rowsInFlight() == st.rowsInFlight()
          && r.decoder().equals("freedave") && r.k() == kReport).findFirst().ifPresent(fd -> {
            cell.put("tokens_per_s_freedave", fd.tokensPerS());
            cell.put("freedave_over_static_tokens_per_s", fd.tokensPerS() / st.tokensPerS());
            cell.put("freedave_over_static_cold", st.coldWallS() / fd.coldWallS());
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
    m.put("trials", trials);
    m.put("cells", cells);
    m.put("runs", runs);
    return m;
  }
}
