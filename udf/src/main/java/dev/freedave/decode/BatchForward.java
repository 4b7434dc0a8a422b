package dev.freedave.decode;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.freedave.model.BlockCache;
import dev.freedave.model.CacheMode;
import dev.freedave.model.DiffusionLM;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One scheduler step's forwards over many sequences of different lengths, every input built on the
 * host in one go. Full forwards are right-padded into [N, L] with pad keys masked (each row keeps
 * positions 0..len-1, so its logits do not depend on its neighbours); cached forwards put each row's
 * drafts side by side against the row's one frozen cache, all rows in one call. The LM head runs on
 * each sequence's block only; the {@link Sampler} turns the logits into predictions.
 */
final class BatchForward {
  private BatchForward() {}

  /**
   * Predictions in input order, and per sequence the row's new cache where the forward made one (a
   * fill froze it, or a block-causal forward appended a finished block to it), null elsewhere.
   */
  record Output(List<Prediction> predictions, BlockCache[] filled) {}

  /** Sequences that go into one call: full forwards of one policy, or cached ones, of one attention. */
  private record Group(boolean cached, CacheMode mode, int block) {}

  static Output run(DiffusionLM model, List<Sequence> seqs) {
    Prediction[] preds = new Prediction[seqs.size()];
    BlockCache[] filled = new BlockCache[seqs.size()];
    Map<Group, List<Integer>> groups = new LinkedHashMap<>();
    for (int i = 0; i < seqs.size(); i++) {
      Sequence s = seqs.get(i);
      boolean cached = s.cache() != null; // drafts of a row stay adjacent
      groups.computeIfAbsent(new Group(cached, cached ? null : s.mode(), s.block()), k -> new ArrayList<>()).add(i);
    }
    try {
      for (Map.Entry<Group, List<Integer>> e : groups.entrySet()) {
        if (e.getKey().cached()) {
          runCached(model, seqs, e.getValue(), e.getKey().block(), preds, filled);
        } else {
          runFull(model, seqs, e.getValue(), e.getKey().mode(), e.getKey().block(), preds, filled);
        }
      }
    } catch (RuntimeException e) {
      for (BlockCache c : filled) {
        if (c != null) {
          c.close();
        }
      }
      throw e;
    }
    return new Output(List.of(preds), filled);
  }

  private static void runFull(DiffusionLM model, List<Sequence> all, List<Integer> idx, CacheMode mode, int block,
      Prediction[] preds, BlockCache[] filled) {
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
    int multiple = mode == CacheMode.NONE ? 16 : 128;
    ragged |= len % multiple != 0;
    len = (len + multiple - 1) / multiple * multiple;
    int offset = model.spec().predictionOffset();
    long[] ids = new long[n * len];
    long[] keep = ragged ? new long[n * len] : null;
    long[] index = new long[n * w];
    int[] lengths = new int[n];
    int[] qs = new int[n];
    int[] qe = new int[n];
    for (int r = 0; r < n; r++) {
      Sequence s = all.get(idx.get(r));
      lengths[r] = s.length();
      for (int j = 0; j < s.length(); j++) {
        ids[r * len + j] = s.tokens()[j];
        if (keep != null) {
          keep[r * len + j] = 1;
        }
      }
      for (int j = 0; j < w; j++) {
        // Dream predicts position p from the logits at p - 1; window padding repeats the last row
        index[r * w + j] = s.promptLength() + s.windowStart() + Math.min(j, s.windowLength() - 1) - offset;
      }
      qs[r] = s.queryStart();
      qe[r] = s.queryEnd();
    }
    List<Sequence> rows = new ArrayList<>(n);
    idx.forEach(i -> rows.add(all.get(i)));
    try (NDManager m = model.newScope()) {
      NDArray idArr = m.create(ids, new Shape(n, len));
      NDArray keepArr = keep == null ? null : m.create(keep, new Shape(n, len));
      NDArray indexArr = m.create(index, new Shape(n, w));
      NDArray logits;
      if (mode == CacheMode.NONE) {
        logits = block > 0 ? model.logitsBlockCausal(idArr, keepArr, indexArr, block)
            : model.logits(idArr, keepArr, null, indexArr);
      } else {
        List<BlockCache> caches = new ArrayList<>();
        logits = model.logitsFillingCache(idArr, keepArr, indexArr, lengths, qs, qe, mode, block, caches);
        for (int r = 0; r < n; r++) {
          filled[idx.get(r)] = caches.get(r);
        }
      }
      List<Prediction> p = Sampler.predict(model.spec(), logits, rows);
      for (int r = 0; r < n; r++) {
        preds[idx.get(r)] = p.get(r);
      }
    }
  }

  /**
   * All cached sequences in one forward: row r's drafts d = 0.. sit at [d * Q_r, (d + 1) * Q_r) of
   * its query axis (Q_r its query window's length, T = the most any row needs), and logits come back
   * as K slots of W per row. A block-causal row whose window begins with a finished block gets its
   * grown cache back.
   */
  private static void runCached(DiffusionLM model, List<Sequence> all, List<Integer> idx, int block,
      Prediction[] preds, BlockCache[] filled) {
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
    int r = rows.size();
    int offset = model.spec().predictionOffset();
    int t = 0;
    int k = 0;
    int w = 0;
    for (int i = 0; i < r; i++) {
      Sequence first = rows.get(i).get(0);
      t = Math.max(t, rows.get(i).size() * (first.queryEnd() - first.queryStart()));
      k = Math.max(k, rows.get(i).size());
      for (Sequence s : rows.get(i)) {
        w = Math.max(w, s.windowLength());
      }
    }
    long[] ids = new long[r * t];
    long[] pos = new long[r * t];
    long[] drafts = new long[r * t];
    long[] index = new long[r * k * w];
    int[] commitTo = new int[r];
    java.util.Arrays.fill(drafts, -1);
    for (int i = 0; i < r; i++) {
      Sequence first = rows.get(i).get(0);
      int qs = first.queryStart();
      int q = first.queryEnd() - qs;
      commitTo[i] = first.commitTo();
      for (int j = 0; j < t; j++) {
        pos[i * t + j] = qs + (j < rows.get(i).size() * q ? j % q : 0);
      }
      for (int d = 0; d < rows.get(i).size(); d++) {
        Sequence s = rows.get(i).get(d);
        for (int j = 0; j < q; j++) {
          ids[i * t + d * q + j] = s.tokens()[qs + j];
          drafts[i * t + d * q + j] = d;
        }
        // the window's logits rows within the draft's query (the dual cache's query is the window)
        int at = s.promptLength() + s.windowStart() - offset - qs;
        for (int j = 0; j < w; j++) {
          index[(i * k + d) * w + j] = d * q + at + Math.min(j, s.windowLength() - 1);
        }
      }
    }
    List<Sequence> slots = new ArrayList<>(r * k); // logits row of each (row, draft) slot; null = unused
    for (List<Sequence> row : rows) {
      for (int d = 0; d < k; d++) {
        slots.add(d < row.size() ? row.get(d) : null);
      }
    }
    BlockCache[] grown = new BlockCache[r];
    try (NDManager m = model.newScope()) {
      NDArray logits = model.logitsWithCache(caches, m.create(ids, new Shape(r, t)), m.create(pos, new Shape(r, t)),
          m.create(drafts, new Shape(r, t)), m.create(index, new Shape(r, (long) k * w)), block, commitTo, grown);
      for (int i = 0; i < r; i++) {
        filled[rowIdx.get(i).get(0)] = grown[i]; // the row takes it with its first sequence's predictions
      }
      List<Prediction> p = Sampler.predict(model.spec(), logits.reshape(r * k, w, logits.getShape().get(2)), slots);
      int at = 0;
      for (int slot = 0; slot < slots.size(); slot++) {
        if (slots.get(slot) != null) {
          preds[idx.get(at++)] = p.get(slot);
        }
      }
    }
  }
}
