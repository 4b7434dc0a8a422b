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

  /** Predictions in input order, and the caches frozen by fill forwards (null elsewhere). */
  record Output(List<Prediction> predictions, BlockCache[] filled) {}

  static Output run(DiffusionLM model, List<Sequence> seqs) {
    Prediction[] preds = new Prediction[seqs.size()];
    BlockCache[] filled = new BlockCache[seqs.size()];
    Map<CacheMode, List<Integer>> full = new LinkedHashMap<>();
    List<Integer> cached = new ArrayList<>();
    for (int i = 0; i < seqs.size(); i++) {
      Sequence s = seqs.get(i);
      if (s.cache() != null) {
        cached.add(i); // drafts of a row stay adjacent
      } else {
        full.computeIfAbsent(s.mode(), k -> new ArrayList<>()).add(i);
      }
    }
    try {
      for (Map.Entry<CacheMode, List<Integer>> e : full.entrySet()) {
        runFull(model, seqs, e.getValue(), e.getKey(), preds, filled);
      }
      if (!cached.isEmpty()) {
        runCached(model, seqs, cached, preds);
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

  private static void runFull(DiffusionLM model, List<Sequence> all, List<Integer> idx, CacheMode mode,
      Prediction[] preds, BlockCache[] filled) {
    int n = idx.size();
    int len = 0;
    int w = 0;
    boolean ragged = false;
    for (int i : idx) {
      Sequence s = all.get(i);
      ragged |= len != 0 && s.tokens().length != len;
      len = Math.max(len, s.tokens().length);
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
      lengths[r] = s.tokens().length;
      for (int j = 0; j < s.tokens().length; j++) {
        ids[r * len + j] = s.tokens()[j];
        if (keep != null) {
          keep[r * len + j] = 1;
        }
      }
      for (int j = 0; j < w; j++) {
        // Dream predicts position p from the logits at p - 1; window padding repeats the last row
        index[r * w + j] = s.promptLength() + s.windowStart() + Math.min(j, s.windowLength() - 1) - offset;
      }
      // a cached forward recomputes from the first position whose logits it needs
      qs[r] = s.promptLength() + s.windowStart() - offset;
      qe[r] = mode == CacheMode.DUAL ? s.promptLength() + s.windowStart() + s.windowLength() : s.tokens().length;
    }
    List<Sequence> rows = new ArrayList<>(n);
    idx.forEach(i -> rows.add(all.get(i)));
    try (NDManager m = model.newScope()) {
      NDArray idArr = m.create(ids, new Shape(n, len));
      NDArray keepArr = keep == null ? null : m.create(keep, new Shape(n, len));
      NDArray indexArr = m.create(index, new Shape(n, w));
      NDArray logits;
      if (mode == CacheMode.NONE) {
        logits = model.logits(idArr, keepArr, null, indexArr);
      } else {
        List<BlockCache> caches = new ArrayList<>();
        logits = model.logitsFillingCache(idArr, keepArr, indexArr, lengths, qs, qe, mode, caches);
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
   * its query axis (T = the most any row needs), and logits come back as K slots of W per row.
   */
  private static void runCached(DiffusionLM model, List<Sequence> all, List<Integer> idx, Prediction[] preds) {
    List<List<Sequence>> rows = new ArrayList<>();
    List<BlockCache> caches = new ArrayList<>();
    for (int i : idx) {
      Sequence s = all.get(i);
      if (caches.isEmpty() || caches.get(caches.size() - 1) != s.cache()) {
        caches.add(s.cache());
        rows.add(new ArrayList<>());
      }
      rows.get(rows.size() - 1).add(s);
    }
    int r = rows.size();
    int t = 0;
    int k = 0;
    int w = 0;
    for (int i = 0; i < r; i++) {
      t = Math.max(t, rows.get(i).size() * caches.get(i).queryLength());
      k = Math.max(k, rows.get(i).size());
      for (Sequence s : rows.get(i)) {
        w = Math.max(w, s.windowLength());
      }
    }
    long[] ids = new long[r * t];
    long[] pos = new long[r * t];
    long[] drafts = new long[r * t];
    long[] index = new long[r * k * w];
    java.util.Arrays.fill(drafts, -1);
    for (int i = 0; i < r; i++) {
      BlockCache c = caches.get(i);
      int q = c.queryLength();
      for (int j = 0; j < t; j++) {
        pos[i * t + j] = c.queryStart() + (j < rows.get(i).size() * q ? j % q : 0);
      }
      for (int d = 0; d < rows.get(i).size(); d++) {
        Sequence s = rows.get(i).get(d);
        for (int j = 0; j < q; j++) {
          ids[i * t + d * q + j] = s.tokens()[c.queryStart() + j];
          drafts[i * t + d * q + j] = d;
        }
        for (int j = 0; j < w; j++) {
          // the window's logits rows sit at the start of the draft's query (queryStart = block start - offset)
          index[(i * k + d) * w + j] = d * q + Math.min(j, s.windowLength() - 1);
        }
      }
    }
    List<Sequence> slots = new ArrayList<>(r * k); // logits row of each (row, draft) slot; null = unused
    for (List<Sequence> row : rows) {
      for (int d = 0; d < k; d++) {
        slots.add(d < row.size() ? row.get(d) : null);
      }
    }
    try (NDManager m = model.newScope()) {
      NDArray logits = model.logitsWithCache(caches, m.create(ids, new Shape(r, t)), m.create(pos, new Shape(r, t)),
          m.create(drafts, new Shape(r, t)), m.create(index, new Shape(r, (long) k * w)));
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
