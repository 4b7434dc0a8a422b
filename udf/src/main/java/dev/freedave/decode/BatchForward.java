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
 * One scheduler step's forwards over many sequences of different lengths: right-padded into
 * [N, L] with pad keys masked (each row keeps positions 0..len-1, so its logits do not depend on its
 * neighbours) and the LM head restricted to each sequence's block; the {@link Sampler} turns the
 * logits into predictions. Full forwards (refilling caches when a policy asks) and cached forwards go
 * to the model as separate calls of the same step.
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
        cached.add(i); // drafts of a row stay adjacent, as the cached forward requires
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
      Sampler.predict(model.spec(), logits, all, idx, preds);
    }
  }

  private static void runCached(DiffusionLM model, List<Sequence> all, List<Integer> idx, Prediction[] preds) {
    int n = idx.size();
    int q = 0;
    int w = 0;
    for (int i : idx) {
      Sequence s = all.get(i);
      q = Math.max(q, s.cache().queryLength());
      w = Math.max(w, s.windowLength());
    }
    long[] ids = new long[n * q];
    long[] keep = new long[n * q];
    long[] index = new long[n * w];
    List<BlockCache> caches = new ArrayList<>(n);
    for (int r = 0; r < n; r++) {
      Sequence s = all.get(idx.get(r));
      BlockCache c = s.cache();
      caches.add(c);
      for (int j = 0; j < c.queryLength(); j++) {
        ids[r * q + j] = s.tokens()[c.queryStart() + j];
        keep[r * q + j] = 1;
      }
      for (int j = 0; j < w; j++) {
        // the window's logits rows sit at the start of the query (queryStart = block start - offset)
        index[r * w + j] = Math.min(j, s.windowLength() - 1);
      }
    }
    try (NDManager m = model.newScope()) {
      NDArray logits = model.logitsWithCache(caches, m.create(ids, new Shape(n, q)), m.create(keep, new Shape(n, q)),
          m.create(index, new Shape(n, w)));
      Sampler.predict(model.spec(), logits, all, idx, preds);
    }
  }
}
