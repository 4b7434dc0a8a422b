package dev.freedave.decode;

import dev.freedave.model.BlockCache;
import dev.freedave.model.CacheMode;
import dev.freedave.model.ModelSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * FreeDave and FreeDave++ (docs/freedave.md). A round holds an exact state {@code s} and
 * {@code P = predict(f(s))}; drafts {@code d[0..K-1]} are built from {@code P}, verified in one
 * forward, and the longest certified chain is kept together with the prediction computed on its
 * last state, so the next round needs no extra forward.
 */
final class DraftDecoder extends RowDecoder {
  private final int maxDrafts;
  private final boolean plusPlus;
  private final DraftBudget budget;
  private int limit;
  private Prediction current; // P for state; null before the first forward
  private List<Canvas> drafts = List.of();
  private List<Canvas> toForward = List.of();

  DraftDecoder(DecodeRequest request, ModelSpec spec, int maxDrafts, DraftBudget budget) {
    super(request, spec, maxDrafts);
    this.maxDrafts = maxDrafts;
    this.limit = maxDrafts;
    this.budget = budget;
    this.plusPlus = request.config().method() == DecodeConfig.Method.FREEDAVE_PP;
    finishIfDone();
  }

  @Override
  List<Canvas> pending() {
    if (done()) {
      return List.of();
    }
    return current == null ? List.of(state) : toForward;
  }

  @Override
  void onPredictions(List<Prediction> predictions, BlockCache lastFill) {
    if (current == null) {
      current = predictions.get(0);
    } else {
      int a = 0;
      while (a + 1 < drafts.size() && certified(a, predictions.get(a))) {
        a++;
      }
      state = drafts.get(a);
      current = a < predictions.size() ? predictions.get(a) : null;
      if (lastFill != null && a == predictions.size() - 1) {
        cacheFilled(lastFill); // the fill draft was the chain's end: its forward filled the new block
      }
      stats.round(a + 1);
      stats.verified(predictions.size());
      budget.round(predictions.size(), a);
    }
    advance();
  }

  /** Builds the next round's drafts, taking the steps that need no forward on the way. */
  private void advance() {
    while (!finishIfDone()) {
      if (current == null) {
        return; // pending() asks for a forward on the state itself
      }
      drafts = plusPlus ? thresholdDrafts() : staticDrafts();
      Canvas last = drafts.get(drafts.size() - 1);
      int n = needsNoForward(last) ? drafts.size() - 1 : drafts.size();
      if (n > 0) {
        toForward = drafts.subList(0, n);
        return;
      }
      state = drafts.get(0);
      current = null;
      stats.round(1);
    }
  }

  /**
   * A draft that ends the row needs no forward: nothing is decoded after it. With a KV cache, a
   * draft that completes its block is the state whose forward starts the next block: a full forward
   * that refreshes the cache, as static decoding's fill does. For LLaDA and Dream it goes with the
   * round's other drafts as a <em>fill draft</em>: where the chain reaches it, that forward's cache
   * and prediction are the next block's, and the row saves the forward it would spend filling (each
   * block cost one forward more than without a cache: 2.46x fewer forwards than static against 3.27x,
   * demo model, docs/results.md). It costs a full row's work, so the scheduler keeps it only where the
   * draft budget says it pays ({@link #dropFillDraft}). A block-causal row's next-block forward
   * appends the finished block to its cache, which a draft may not do before it is accepted: there
   * such a draft is not forwarded, and the next block starts with that forward once it is. So is a
   * round's only draft: it is the next static state, taken at once, and its forward the fill.
   */
  private boolean needsNoForward(Canvas last) {
    return last.finished(spec, config.eosEarlyExit())
        || (config.cache() != CacheMode.NONE && last.currentBlock() != state.currentBlock()
            && (spec.blockCausal() || drafts.size() == 1));
  }

  /**
   * The chain depth of this round's fill draft (the last sequence of {@link #pending()}, where the
   * round's drafts reach the next block and a cache refills there), or 0 where it has none. A round of
   * a single draft has none: that draft is the next static state, and its forward is the fill.
   */
  int fillDraftDepth() {
    if (current == null || config.cache() == CacheMode.NONE || toForward.size() < 2) {
      return 0;
    }
    Canvas last = toForward.get(toForward.size() - 1);
    return last.currentBlock() != state.currentBlock() ? toForward.size() - 1 : 0;
  }

  /** This round goes without its fill draft; where its chain reaches there, the next block fills in a forward of its own. */
  void dropFillDraft() {
    if (fillDraftDepth() > 0) {
      toForward = toForward.subList(0, toForward.size() - 1);
    }
  }

  /** K: the most drafts a round may send. */
  int maxDrafts() {
    return maxDrafts;
  }

  /** The drafts the next round builds: at most {@code k} (the scheduler's budget), never more than K. */
  void limitDrafts(int k) {
    limit = Math.max(1, Math.min(k, maxDrafts));
  }

  /** FreeDave: d[k] = s + the candidates of the next k+1 scheduled steps, all from P's canonical order. */
  private List<Canvas> staticDrafts() {
    int step = Selection.stepIndex(state, schedule);
    int k = Math.min(limit, schedule.length - step);
    int[] order = Selection.canonical(state, current, state.currentBlock());
    List<Canvas> out = new ArrayList<>(k);
    Canvas d = state;
    int taken = 0;
    for (int i = 0; i < k; i++) {
      d = d.copy();
      for (int j = 0; j < schedule[step + i]; j++, taken++) {
        d.set(order[taken], current.token(order[taken]));
      }
      out.add(d);
    }
    return out;
  }

  /** FreeDave++: d[0] = one threshold step; d[k] adds k more canonical candidates of the same stale P. */
  private List<Canvas> thresholdDrafts() {
    int[] order = Selection.canonical(state, current, state.currentBlock());
    Canvas d = Selection.thresholdStep(state, current, config.threshold());
    int first = order.length - d.maskedInBlock(state.currentBlock());
    int k = Math.min(limit, order.length - first + 1);
    List<Canvas> out = new ArrayList<>(k);
    out.add(d);
    for (int i = 1; i < k; i++) {
      d = d.copy();
      int pos = order[first + i - 1];
      d.set(pos, current.token(pos));
      out.add(d);
    }
    return out;
  }

  /** Whether d[k+1] is what the target step from d[k] (under F[k]) produces. */
  private boolean certified(int k, Prediction f) {
    Canvas dk = drafts.get(k);
    Canvas next = drafts.get(k + 1);
    if (!plusPlus) {
      return Selection.staticStep(dk, f, schedule[Selection.stepIndex(dk, schedule)]).sameTokens(next);
    }
    // FreeDave++: the token d[k+1] adds must be among the target threshold step's, with the same id
    Canvas target = Selection.thresholdStep(dk, f, config.threshold());
    for (int p = 0; p < dk.genLength; p++) {
      if (dk.masked(p) && !next.masked(p)) {
        return target.get(p) == next.get(p);
      }
    }
    return false;
  }
}
