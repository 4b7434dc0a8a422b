package dev.freedave.decode;

import dev.freedave.model.BlockCache;
import dev.freedave.model.CacheMode;
import dev.freedave.model.ModelSpec;
import java.util.Arrays;
import java.util.List;

/**
 * Decodes one row as a state machine driven by the scheduler: it names the sequences it needs a
 * forward for, and advances when their predictions arrive. This is what lets one forward carry
 * many rows, each with its own (ragged) drafts.
 */
abstract class RowDecoder {
  final DecodeRequest request;
  final DecodeConfig config;
  final ModelSpec spec;
  final int[] schedule;
  final DecodeStats.Builder stats;
  Canvas state;
  private DecodeResult result;
  private BlockCache cache;
  /** The last cache this row took, so that {@link #onForward} closes a fill draft's only where it did not. */
  private BlockCache adopted;
  private int cacheBlock = -1;
  private long lastPositions;

  RowDecoder(DecodeRequest request, ModelSpec spec, int maxAdvance) {
    this.request = request;
    this.config = request.config();
    this.spec = spec;
    this.schedule = config.blockSchedule();
    this.stats = new DecodeStats.Builder(maxAdvance);
    this.state = new Canvas(request.prompt(), config, spec.maskTokenId(), spec.blockCausal());
  }

  /**
   * The decoder for a request.
   *
   * @throws IllegalArgumentException when the row cannot be decoded; the message names the row's
   *     problem, and the caller records it as the row's error and goes on
   */
  static RowDecoder create(DecodeRequest r, ModelSpec spec, int maxSequencesPerForward, DraftBudget budget) {
    String problem = validate(r, spec, maxSequencesPerForward);
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
    DecodeConfig c = r.config();
    return switch (c.method()) {
      case STATIC, THRESHOLD -> new StepDecoder(r, spec);
      case FREEDAVE, FREEDAVE_PP -> new DraftDecoder(r, spec, c.draftSteps(), budget);
    };
  }

  private static String validate(DecodeRequest r, ModelSpec spec, int maxSequencesPerForward) {
    if (r.prompt() == null || r.prompt().length == 0) {
      return "empty prompt";
    }
    DecodeConfig c = r.config();
    if (c.method().drafts() && c.draftSteps() > maxSequencesPerForward) {
      // never capped silently: the row would run another K than its draft_steps column says
      return "draft_steps " + c.draftSteps() + " exceeds the " + maxSequencesPerForward
          + " sequences per forward; a row's drafts are verified in one forward";
    }
    if (spec.blockCausal()) {
      String problem = c.blockCausalProblem();
      if (problem != null) {
        return problem;
      }
    }
    // a block-causal model decodes on to the block boundary after prompt + gen_length
    int lead = spec.blockCausal() ? r.prompt().length % c.blockLength() : 0;
    long total = (long) r.prompt().length + c.genLength() + (lead == 0 ? 0 : c.blockLength() - lead);
    if (total > spec.maxSequenceLength()) {
      return "prompt of " + r.prompt().length + " tokens + gen_length " + r.config().genLength() + " = " + total
          + " exceeds the model's context of " + spec.maxSequenceLength();
    }
    for (int t : r.prompt()) {
      if (t < 0 || t >= spec.vocabSize()) {
        return "prompt token id " + t + " is outside the vocabulary [0, " + spec.vocabSize() + ")";
      }
      if (t == spec.maskTokenId()) {
        return "prompt contains the mask token " + t;
      }
    }
    return null;
  }

  /** The states this row needs a forward on next; empty when it needs none. */
  abstract List<Canvas> pending();

  /**
   * Predictions for {@link #pending()}, in the same order.
   *
   * @param lastFill the cache a fill draft's forward made (the last of several sequences), which
   *     the row takes with {@link #cacheFilled} where its chain ends there; null where there was none
   */
  abstract void onPredictions(List<Prediction> predictions, BlockCache lastFill);

  /**
   * What a forward gave {@link #pending()}: per sequence its prediction and the cache its forward
   * made, or null. The first sequence's cache (the state's own fill, or a block-causal row's cache
   * grown by a finished block) is the row's at once; a later one is a fill draft's, the row's only
   * where its chain reaches it, else closed here, as is everything when the row fails.
   */
  final void onForward(List<Prediction> predictions, List<BlockCache> made) {
    BlockCache lastFill = made.size() > 1 ? made.get(made.size() - 1) : null;
    try {
      if (made.get(0) != null) {
        cacheFilled(made.get(0));
      }
      if (predictions.stream().allMatch(x -> x == null || x.finite())) {
        onPredictions(predictions, lastFill);
      } else {
        fail(DecodeScheduler.NON_FINITE);
      }
    } catch (RuntimeException e) {
      fail("decoder failed: " + e);
    } finally {
      if (lastFill != null && adopted != lastFill) {
        lastFill.close();
      }
    }
  }

  /** Counts a forward this row took part in; returns the positions it computed for the row. */
  final long recordForward(List<Sequence> sequences) {
    long positions = 0;
    for (Sequence s : sequences) {
      positions += s.positions();
    }
    stats.forward(positions);
    lastPositions = sequences.get(0).positions();
    return positions;
  }

  /**
   * Positions the first of this row's sequences computed in its last forward: what each of its
   * drafts computes (a fill draft, a whole row, is priced apart).
   */
  final long positionsPerSequence() {
    return lastPositions;
  }

  final boolean done() {
    return result != null;
  }

  final DecodeResult result() {
    return result;
  }

  /**
   * The forward {@code c} needs. With a cache policy: a full forward that freezes the row's cache at
   * a block start (LLaDA, Dream: afresh for every block), else a cached forward against it. A
   * block-causal row's cache grows instead: its first forward freezes the prefix before the first
   * block; every later one reads the cache, and the first forward of a block also recomputes the
   * block just finished and appends that block's keys and values (so the commit costs no forward of
   * its own). Without a policy, a block-causal full forward feeds the tokens up to the block's end.
   */
  final Sequence sequence(Canvas c) {
    int block = c.currentBlock();
    int windowStart = c.blockStart(block);
    int windowLength = c.blockEnd(block) - windowStart;
    int windowAbs = c.promptLength + windowStart - spec.predictionOffset();
    if (spec.blockCausal()) {
      int start = c.absoluteBlockStart(block);
      int end = c.absoluteBlockStart(block + 1);
      if (config.cache() == CacheMode.NONE || cache == null) {
        return new Sequence(c.tokens, end, c.promptLength, windowStart, windowLength, request.seed(),
            c.decodedCount(), config.temperature(), null, config.cache(), start, end, c.blockLength, start);
      }
      return new Sequence(c.tokens, end, c.promptLength, windowStart, windowLength, request.seed(), c.decodedCount(),
          config.temperature(), cache, config.cache(), cache.visibleEnd(), end, c.blockLength, start);
    }
    boolean cached = config.cache() != CacheMode.NONE && cache != null && cacheBlock == block;
    if (cached) {
      return new Sequence(c.tokens, c.tokens.length, c.promptLength, windowStart, windowLength, request.seed(),
          c.decodedCount(), config.temperature(), cache, config.cache(), cache.queryStart(), cache.queryEnd(), 0,
          cache.queryStart());
    }
    // a cached forward recomputes from the first position whose logits it needs: the dual cache the
    // window, the prefix cache everything after it too
    int queryEnd = config.cache() == CacheMode.DUAL ? c.promptLength + windowStart + windowLength : c.tokens.length;
    return new Sequence(c.tokens, c.tokens.length, c.promptLength, windowStart, windowLength, request.seed(),
        c.decodedCount(), config.temperature(), null, config.cache(), windowAbs, queryEnd, 0, windowAbs);
  }

  /** Takes the cache a fill forward froze for the current block of {@link #state}. */
  final void cacheFilled(BlockCache filled) {
    releaseCache();
    cache = filled;
    adopted = filled;
    cacheBlock = state.currentBlock();
  }

  private void releaseCache() {
    if (cache != null) {
      cache.close();
      cache = null;
    }
  }

  /** Checks whether {@link #state} ends the row and, if so, builds the result. */
  final boolean finishIfDone() {
    if (!state.finished(spec, config.eosEarlyExit())) {
      return false;
    }
    releaseCache();
    int blocksDecoded = state.currentBlock();
    int decoded = state.decodedCount();
    if (blocksDecoded < state.numBlocks()) {
      state.fillMasked(spec.endTokenIds().get(0));
    }
    int[] gen = state.generated();
    boolean ended = Arrays.stream(gen).anyMatch(spec::isEnd);
    result = new DecodeResult(request.id(), config, request.prompt().length, gen,
        ended ? DecodeResult.FinishReason.EOS : DecodeResult.FinishReason.LENGTH, null,
        stats.build(staticSteps(blocksDecoded), decoded));
    return true;
  }

  /** The forwards static decoding takes for the first {@code blocks} blocks (a leading block has fewer steps). */
  private int staticSteps(int blocks) {
    int n = 0;
    for (int b = 0; b < blocks; b++) {
      n += schedule.length - Selection.stepIndex(state.givenInBlock(b), schedule);
    }
    return n;
  }

  final void fail(String error) {
    releaseCache();
    result = DecodeResult.failed(request, error);
  }
}
