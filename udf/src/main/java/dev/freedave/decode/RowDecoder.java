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
  private int cacheBlock = -1;
  private long lastPositions;

  RowDecoder(DecodeRequest request, ModelSpec spec, int maxAdvance) {
    this.request = request;
    this.config = request.config();
    this.spec = spec;
    this.schedule = config.blockSchedule();
    this.stats = new DecodeStats.Builder(maxAdvance);
    this.state = new Canvas(request.prompt(), config, spec.maskTokenId());
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
    long total = (long) r.prompt().length + c.genLength();
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

  /** Predictions for {@link #pending()}, in the same order. */
  abstract void onPredictions(List<Prediction> predictions);

  /** Counts a forward this row took part in; returns the positions it computed for the row. */
  final long recordForward(List<Sequence> sequences) {
    long positions = 0;
    for (Sequence s : sequences) {
      positions += s.cache() != null ? s.cache().queryLength() : s.tokens().length;
    }
    stats.forward(positions);
    lastPositions = positions / Math.max(1, sequences.size());
    return positions;
  }

  /** Positions one of this row's sequences computed in its last forward. */
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
   * The forward {@code c} needs: with a cache policy, a full forward that refills the row's cache
   * at a block start, else a cached forward against the cache of its block.
   */
  final Sequence sequence(Canvas c) {
    int block = c.currentBlock();
    boolean cached = config.cache() != CacheMode.NONE && cache != null && cacheBlock == block;
    return new Sequence(c.tokens, c.promptLength, c.blockStart(block), c.blockLength, request.seed(),
        c.decodedCount(), config.temperature(), cached ? cache : null, config.cache());
  }

  /** Takes the cache a fill forward froze for the current block of {@link #state}. */
  final void cacheFilled(BlockCache filled) {
    releaseCache();
    cache = filled;
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
    if (blocksDecoded < config.numBlocks()) {
      state.fillMasked(spec.endTokenIds().get(0));
    }
    int[] gen = state.generated();
    boolean ended = Arrays.stream(gen).anyMatch(spec::isEnd);
    result = new DecodeResult(request.id(), config, request.prompt().length, gen,
        ended ? DecodeResult.FinishReason.EOS : DecodeResult.FinishReason.LENGTH, null,
        stats.build(blocksDecoded * config.stepsPerBlock(), decoded));
    return true;
  }

  final void fail(String error) {
    releaseCache();
    result = DecodeResult.failed(request, error);
  }
}
