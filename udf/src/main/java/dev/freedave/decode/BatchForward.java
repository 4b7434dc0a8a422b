package dev.freedave.decode;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.freedave.model.BlockCache;
import dev.freedave.model.CacheFill;
import dev.freedave.model.CacheMode;
import dev.freedave.model.DiffusionLM;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntUnaryOperator;

/**
 * One scheduler step's forwards over many sequences of different lengths, every input built on the
 * host in one go. Full forwards are right-padded into [N, L] with pad keys masked (each row keeps
 * positions 0..len-1, so its logits do not depend on its neighbours); cached forwards put each row's
 * drafts side by side against the row's one frozen cache, all rows in one call. The LM head runs on
 * each sequence's block only; the {@link Sampler} turns the logits into predictions.
 *
 * <p>On a GPU shapes come in buckets: a forward's sequence count (and a cached one's rows and drafts
 * per row) is padded up to the next of 1, 2, 3, 4, 6, 8, 12, 16, 24, ... with copies of its last
 * sequence, whose outputs nobody reads. libtorch's graph executor compiles its fused CUDA kernels
 * anew for every shape it meets (about 20 ms each for the demo model on the H200) and, past its fusion
 * strategy's depth, runs a shape unfused; FreeDave's forwards, whose size changes with every round's
 * drafts, kept paying for both (docs/results.md, "Shape buckets"). Rows are independent, so a copy
 * changes no real row's logits; the price is at most half a forward's compute more, paid only where
 * a forward is compute-bound, and the draft budget measures it like any other cost. On the CPU
 * libtorch fuses nothing and a forward is compute-bound from a few rows on, so a copy would be pure
 * cost (FreeDave at 8 rows on this project's 2-core VM: 0.71x static with buckets): exact sizes there.
 *
 * <p>Also on a GPU, the rows of a step that start a block can ride in its cached call instead of a
 * fill call of their own ({@link CacheFill}), where the measured costs say so: FreeDave's rows reach
 * their block ends in different steps, so most of its cached steps also fill (docs/results.md, "One
 * call a step").
 */
final class BatchForward {
  private BatchForward() {}

  /** {@code -Dfreedave.shape-buckets=false} runs every GPU forward at its exact size (for comparison). */
  private static final boolean BUCKETS = !"false".equals(System.getProperty("freedave.shape-buckets"));
  /** {@code -Dfreedave.join-fills=false} keeps a step's fills in a call of their own (for comparison). */
  private static final boolean JOIN_FILLS = !"false".equals(System.getProperty("freedave.join-fills"));

  /** A fill's padded length: a multiple of 128, so that rows frozen in different steps share one. */
  private static int fillLength(int len) {
    return (len + 127) / 128 * 128;
  }

  /** The bucket of {@code n} >= 1: the smallest of 1, 2, 3, 4, 6, 8, 12, ... (2^i and 3 * 2^i) not below it. */
  static int bucket(int n) {
    if (n <= 2) {
      return n;
    }
    int pow = Integer.highestOneBit(n - 1); // n - 1 < 2 pow, so n <= 2 pow
    return n <= pow + pow / 2 ? pow + pow / 2 : 2 * pow;
  }

  /**
   * Predictions in input order, and per sequence the row's new cache where the forward made one (a
   * fill froze it, or a block-causal forward appended a finished block to it), null elsewhere;
   * {@code shape} names the input shapes of the step's model calls (equal strings, equal shapes);
   * {@code slots} is how many sequences the calls ran, padding copies included.
   */
  record Output(List<Prediction> predictions, BlockCache[] filled, String shape, int slots) {}

  /** Sequences that go into one call: full forwards of one policy, or cached ones, of one attention. */
  private record Group(boolean cached, CacheMode mode, int block) {
    /** How a step's shape names the call: "cached" or "full <policy>", and a block-causal block. */
    @Override
    public String toString() {
      return (cached ? "cached" : "full " + mode.label()) + (block > 0 ? " block " + block : "");
    }
  }

  /**
   * The step's forwards; where the model runs on a GPU, padded to shape buckets, and the fills of
   * bidirectional rows joined to the cached call when the measured costs say one call is cheaper.
   */
  static Output run(DiffusionLM model, List<Sequence> seqs) {
    boolean gpu = onGpu(model);
    return run(model, seqs, BUCKETS && gpu, joinCosts(model, seqs, gpu));
  }

  /**
   * The costs by which a step's fills are joined to its cached call on {@code model}'s device: its
   * rows' policy's (a step's rows share one: a partition decodes under one config); null: never joined.
   */
  private static DraftBudget.Costs joinCosts(DiffusionLM model, List<Sequence> seqs, boolean gpu) {
    CacheMode policy = seqs.stream().map(Sequence::mode).filter(m -> m != CacheMode.NONE).findFirst().orElse(null);
    return JOIN_FILLS && gpu && policy != null ? DraftBudget.costsOf(model, policy) : null;
  }

  /** The sequences a forward of n sequences runs on {@code model}'s device: its bucket on a GPU, else n. */
  static IntUnaryOperator padding(DiffusionLM model) {
    return padding(BUCKETS && onGpu(model));
  }

  private static IntUnaryOperator padding(boolean buckets) {
    return buckets ? BatchForward::bucket : n -> n;
  }

  private static boolean onGpu(DiffusionLM model) {
    try (NDManager probe = model.newScope()) {
      return probe.getDevice().isGpu();
    }
  }

  /**
   * @param buckets whether to pad the forwards' batch sizes to their buckets
   * @param joinCosts forward costs by size, by which fills are joined to the cached call when that
   *     costs less than two calls; null: never joined
   */
  static Output run(DiffusionLM model, List<Sequence> seqs, boolean buckets, DraftBudget.Costs joinCosts) {
    Prediction[] preds = new Prediction[seqs.size()];
    BlockCache[] filled = new BlockCache[seqs.size()];
    Map<Group, List<Integer>> groups = groups(seqs);
    StringBuilder shape = new StringBuilder();
    int slots = 0;
    List<Integer> joined = joinCosts == null ? List.of() : joinedFills(seqs, groups, joinCosts, buckets);
    try {
      for (Map.Entry<Group, List<Integer>> e : groups.entrySet()) {
        Group g = e.getKey();
        Call call = g.cached()
            ? runCached(model, seqs, e.getValue(), g.block() == 0 ? joined : List.of(), g.block(), buckets, preds, filled)
            : runFull(model, seqs, e.getValue(), g.mode(), g.block(), buckets, preds, filled);
        shape.append(g).append(call.shape());
        slots += call.slots();
      }
    } catch (RuntimeException e) {
      for (BlockCache c : filled) {
        if (c != null) {
          c.close();
        }
      }
      throw e;
    }
    return new Output(List.of(preds), filled, shape.toString(), slots);
  }

  /** The sequences of each call, in input order: a row's drafts stay adjacent. */
  private static Map<Group, List<Integer>> groups(List<Sequence> seqs) {
    Map<Group, List<Integer>> groups = new LinkedHashMap<>();
    for (int i = 0; i < seqs.size(); i++) {
      Sequence s = seqs.get(i);
      boolean cached = s.cache() != null;
      groups.computeIfAbsent(new Group(cached, cached ? null : s.mode(), s.block()), k -> new ArrayList<>()).add(i);
    }
    return groups;
  }

  /** One model call: its input shape, and the sequences it ran (a cached call: rows x draft slots). */
  private record Call(String shape, int slots) {}

  /**
   * The fills of bidirectional rows (full forwards under a cache policy) that join this step's cached
   * call, removed from {@code groups}: all of them where one call over every row, each row's queries
   * as long as the longest of them, is expected to cost less than the two calls apart; else none.
   * One call costs its dispatch whatever its size until the device is busy (a small model on a GPU:
   * every call 2-3 ms), so a step that both fills and reads caches pays twice for the same work;
   * past that point a call costs its positions, and a fill's 128-padded row makes every row as long.
   */
  private static List<Integer> joinedFills(List<Sequence> seqs, Map<Group, List<Integer>> groups,
      DraftBudget.Costs costs, boolean buckets) {
    Works w = works(seqs, groups, buckets);
    if (w.fills() == 0 || w.cached() == 0 || !w.joinPays(costs)) {
      return List.of();
    }
    List<Integer> fills = new ArrayList<>();
    for (CacheMode mode : List.of(CacheMode.PREFIX, CacheMode.DUAL)) {
      fills.addAll(groups.getOrDefault(new Group(false, mode, 0), List.of()));
      groups.remove(new Group(false, mode, 0));
    }
    return fills;
  }

  /**
   * A step as the scheduler prices it: its work as the draft budget's cost table measures a step
   * (query positions, scaled by the sequences its calls run, padding copies included, over the
   * sequences given) and the model calls it makes.
   */
  record StepWork(long work, int calls) {}

  /**
   * The {@link StepWork} of a step over {@code seqs}, with its fills joined to its cached call where
   * {@link #run} would join them on {@code model}'s device. What the scheduler prices a fill draft with.
   */
  static StepWork estimatedWork(DiffusionLM model, List<Sequence> seqs) {
    boolean gpu = onGpu(model);
    return estimatedWork(seqs, BUCKETS && gpu, joinCosts(model, seqs, gpu));
  }

  /** {@link #estimatedWork(DiffusionLM, List)} of {@link #run(DiffusionLM, List, boolean, DraftBudget.Costs)}'s step. */
  static StepWork estimatedWork(List<Sequence> seqs, boolean buckets, DraftBudget.Costs joinCosts) {
    IntUnaryOperator pad = padding(buckets);
    Map<Group, List<Integer>> groups = groups(seqs);
    List<Integer> joined = joinCosts == null ? List.of() : joinedFills(seqs, groups, joinCosts, buckets);
    long positions = 0;
    for (Sequence s : seqs) {
      positions += s.positions();
    }
    long slots = 0;
    for (Map.Entry<Group, List<Integer>> e : groups.entrySet()) {
      if (!e.getKey().cached()) {
        slots += pad.applyAsInt(e.getValue().size());
        continue;
      }
      CachedRows c = CachedRows.of(seqs, e.getValue());
      int fills = e.getKey().block() == 0 ? joined.size() : 0;
      slots += (long) pad.applyAsInt(c.rows() + fills) * pad.applyAsInt(c.mostDrafts());
    }
    return new StepWork(seqs.isEmpty() ? 0 : positions * slots / seqs.size(), groups.size());
  }

  /**
   * A step's calls by their work, in the units the join is weighed in (positions as the calls run
   * them, padding copies included): its fills of bidirectional rows, its cached call of them, and
   * the two as one call (every row's queries as long as the longest); 0 where absent.
   */
  private record Works(long fills, long cached, long together) {
    boolean joinPays(DraftBudget.Costs costs) {
      return costs.cost(together) < costs.cost(fills) + costs.cost(cached);
    }
  }

  private static Works works(List<Sequence> seqs, Map<Group, List<Integer>> groups, boolean buckets) {
    IntUnaryOperator pad = padding(buckets);
    int fills = 0;
    int fillLength = 0;
    for (CacheMode mode : List.of(CacheMode.PREFIX, CacheMode.DUAL)) {
      for (int i : groups.getOrDefault(new Group(false, mode, 0), List.of())) {
        fills++;
        fillLength = Math.max(fillLength, fillLength(seqs.get(i).length()));
      }
    }
    CachedRows c = CachedRows.of(seqs, groups.getOrDefault(new Group(true, null, 0), List.of()));
    long cached = c.rows() == 0 ? 0 : c.positions() * pad.applyAsInt(c.rows()) / c.rows();
    long fillWork = fills == 0 ? 0 : (long) pad.applyAsInt(fills) * fillLength;
    long together = (long) pad.applyAsInt(c.rows() + fills) * Math.max(c.longest(), fillLength);
    return new Works(fillWork, cached, together);
  }

  /**
   * A cached call's sequences {@code idx} by row (a row's drafts are adjacent and share its cache):
   * its rows, the most drafts a row sends, the query positions of them all, and the longest row's
   * queries (its drafts' windows back to back).
   */
  private record CachedRows(int rows, int mostDrafts, long positions, int longest) {
    static CachedRows of(List<Sequence> seqs, List<Integer> idx) {
      int rows = 0;
      int most = 0;
      long positions = 0;
      int longest = 0;
      int drafts = 0;
      BlockCache last = null;
      for (int i : idx) {
        Sequence s = seqs.get(i);
        int q = s.queryEnd() - s.queryStart();
        positions += q;
        drafts = s.cache() == last ? drafts + 1 : 1;
        rows += s.cache() == last ? 0 : 1;
        most = Math.max(most, drafts);
        longest = Math.max(longest, drafts * q);
        last = s.cache();
      }
      return new CachedRows(rows, most, positions, longest);
    }
  }

  private static Call runFull(DiffusionLM model, List<Sequence> all, List<Integer> idx, CacheMode mode, int block,
      boolean buckets, Prediction[] preds, BlockCache[] filled) {
    int n = idx.size();
    int len = 0;
    int w = 0;
    boolean ragged = false;
    for (int i : idx) {
      Sequence s = all.get(i);
      ragged |= len != 0 && s.length() != len;
      len = Math.max(len, s.length());
      w = Math.max(w, s.windowLength());
    }
    // Lengths are padded to a multiple of 16 (128 for fills): libtorch specialises its kernels on the
    // shapes it sees, and fewer distinct shapes mean fewer specialisations. Rows frozen in different
    // fills then also share one frozen length, and a cached forward stacks their caches in one copy.
    int padded = mode == CacheMode.NONE ? (len + 15) / 16 * 16 : fillLength(len);
    ragged |= padded != len;
    len = padded;
    int offset = model.spec().predictionOffset();
    int nb = buckets ? bucket(n) : n; // rows n .. nb - 1 repeat the last sequence
    long[] ids = new long[nb * len];
    long[] keep = ragged ? new long[nb * len] : null;
    long[] index = new long[nb * w];
    int[] lengths = new int[nb];
    int[] qs = new int[nb];
    int[] qe = new int[nb];
    for (int r = 0; r < nb; r++) {
      Sequence s = all.get(idx.get(Math.min(r, n - 1)));
      lengths[r] = s.length();
      for (int j = 0; j < s.length(); j++) {
        ids[r * len + j] = s.tokens()[j];
        if (keep != null) {
          keep[r * len + j] = 1;
        }
      }
      for (int j = 0; j < w; j++) {
        index[r * w + j] = s.logitsPosition(j, offset);
      }
      qs[r] = s.queryStart();
      qe[r] = s.queryEnd();
    }
    List<Sequence> rows = new ArrayList<>(nb);
    idx.forEach(i -> rows.add(all.get(i)));
    while (rows.size() < nb) {
      rows.add(null); // a copy: no prediction
    }
    try (NDManager m = model.newScope()) {
      NDArray idArr = m.create(ids, new Shape(nb, len));
      NDArray keepArr = keep == null ? null : m.create(keep, new Shape(nb, len));
      NDArray indexArr = m.create(index, new Shape(nb, w));
      NDArray logits;
      if (mode == CacheMode.NONE) {
        logits = block > 0 ? model.logitsBlockCausal(idArr, keepArr, indexArr, block)
            : model.logits(idArr, keepArr, null, indexArr);
      } else {
        List<BlockCache> caches = new ArrayList<>();
        logits = model.logitsFillingCache(idArr, keepArr, indexArr, lengths, qs, qe, mode, block, caches);
        for (int r = 0; r < nb; r++) {
          if (r < n) {
            filled[idx.get(r)] = caches.get(r);
          } else {
            caches.get(r).close();
          }
        }
      }
      List<Prediction> p = Sampler.predict(model, logits, w, rows);
      for (int r = 0; r < n; r++) {
        preds[idx.get(r)] = p.get(r);
      }
    }
    return new Call("[" + nb + "x" + len + "x" + w + (keep != null ? " keep" : "") + "]", nb);
  }

  /**
   * All cached sequences in one forward, and the fills {@code fillIdx} joined to it: row r's drafts
   * d = 0.. sit at [d * Q_r, (d + 1) * Q_r) of its query axis (Q_r its query window's length), a
   * joined fill's row at [0, L) (L its length padded as a fill pads it); T = the larger of the bucket
   * of the most drafts any row sends times the longest window, and L. Logits come back as that
   * bucket's count of slots of W per row. A block-causal row whose window begins with a finished block
   * gets its grown cache back, a joined fill the cache it made.
   */
  private static Call runCached(DiffusionLM model, List<Sequence> all, List<Integer> idx, List<Integer> fillIdx,
      int block, boolean buckets, Prediction[] preds, BlockCache[] filled) {
    List<List<Sequence>> rows = new ArrayList<>();
    List<List<Integer>> rowIdx = new ArrayList<>();
    List<BlockCache> caches = new ArrayList<>();
    for (int i : idx) {
      Sequence s = all.get(i);
      if (caches.isEmpty() || caches.get(caches.size() - 1) != s.cache()) {
        caches.add(s.cache());
        rows.add(new ArrayList<>());
        rowIdx.add(new ArrayList<>());
      }
      rows.get(rows.size() - 1).add(s);
      rowIdx.get(rowIdx.size() - 1).add(i);
    }
    BlockCache standIn = caches.get(0); // the frozen keys a fill or padding row is given and never sees
    int fillLength = 0;
    for (int i : fillIdx) {
      rows.add(List.of(all.get(i)));
      rowIdx.add(List.of(i));
      caches.add(null);
      fillLength = Math.max(fillLength, fillLength(all.get(i).length()));
    }
    int r = rows.size();
    int offset = model.spec().predictionOffset();
    int q = 0;
    int k = 0;
    int w = 0;
    for (int i = 0; i < r; i++) {
      Sequence first = rows.get(i).get(0);
      if (caches.get(i) != null) {
        q = Math.max(q, first.queryEnd() - first.queryStart());
        k = Math.max(k, rows.get(i).size());
      }
      for (Sequence s : rows.get(i)) {
        w = Math.max(w, s.windowLength());
      }
    }
    // rows r .. rb - 1 hold padding queries only (draft -1: each attends to itself and the stand-in's
    // frozen keys, and nobody reads its outputs); so do slots k .. kb - 1 of a row
    int rb = buckets ? bucket(r) : r;
    int kb = buckets ? bucket(k) : k;
    int t = Math.max(kb * q, fillLength);
    long[] ids = new long[rb * t];
    long[] pos = new long[rb * t];
    long[] drafts = new long[rb * t];
    long[] index = new long[rb * kb * w];
    int[] commitTo = new int[rb]; // 0: the row appends nothing
    CacheFill[] fills = new CacheFill[rb];
    java.util.Arrays.fill(drafts, -1);
    for (int i = 0; i < r; i++) {
      List<Sequence> row = rows.get(i);
      Sequence first = row.get(0);
      if (caches.get(i) == null) {
        // a fill's row from position 0, its padding keys hidden from it as a fill forward hides them
        fills[i] = CacheFill.of(first.mode(), first.block(), fillLength, first.length(), first.queryStart(),
            first.queryEnd());
        for (int j = 0; j < fillLength; j++) {
          pos[i * t + j] = j;
          if (j < first.length()) {
            ids[i * t + j] = first.tokens()[j];
            drafts[i * t + j] = 0;
          }
        }
        for (int j = 0; j < w; j++) {
          index[i * kb * w + j] = first.logitsPosition(j, offset);
        }
        continue;
      }
      int qs = first.queryStart();
      int qr = first.queryEnd() - qs;
      commitTo[i] = first.commitTo();
      for (int j = 0; j < t; j++) {
        pos[i * t + j] = qs + (j < row.size() * qr ? j % qr : 0);
      }
      for (int d = 0; d < row.size(); d++) {
        Sequence s = row.get(d);
        for (int j = 0; j < qr; j++) {
          ids[i * t + d * qr + j] = s.tokens()[qs + j];
          drafts[i * t + d * qr + j] = d;
        }
        // the window's logits rows within the draft's query, which starts at qs
        for (int j = 0; j < w; j++) {
          index[(i * kb + d) * w + j] = d * qr + s.logitsPosition(j, offset) - qs;
        }
      }
    }
    while (caches.size() < rb) {
      caches.add(standIn);
    }
    List<Sequence> slots = new ArrayList<>(rb * kb); // logits row of each (row, draft) slot; null = unused
    for (int i = 0; i < rb; i++) {
      for (int d = 0; d < kb; d++) {
        slots.add(i < r && d < rows.get(i).size() ? rows.get(i).get(d) : null);
      }
    }
    BlockCache[] grown = new BlockCache[rb];
    try (NDManager m = model.newScope()) {
      NDArray logits = model.logitsWithCache(caches, m.create(ids, new Shape(rb, t)), m.create(pos, new Shape(rb, t)),
          m.create(drafts, new Shape(rb, t)), m.create(index, new Shape(rb, (long) kb * w)), block, commitTo,
          fillIdx.isEmpty() ? null : fills, grown);
      for (int i = 0; i < r; i++) {
        filled[rowIdx.get(i).get(0)] = grown[i]; // the row takes it with its first sequence's predictions
      }
      List<Prediction> p = Sampler.predict(model, logits, w, slots); // [rb, kb * w, V]: slots of w back to back
      for (int i = 0; i < r; i++) {
        for (int d = 0; d < rowIdx.get(i).size(); d++) {
          preds[rowIdx.get(i).get(d)] = p.get(i * kb + d);
        }
      }
    }
    int frozen = standIn.frozenLength();
    return new Call("[" + rb + "x" + t + "x" + kb * w + " frozen " + frozen + (fillIdx.isEmpty() ? "" : " fills") + "]",
        rb * kb);
  }
}
