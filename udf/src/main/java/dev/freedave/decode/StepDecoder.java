package dev.freedave.decode;

import dev.freedave.model.BlockCache;
import dev.freedave.model.ModelSpec;
import java.util.List;

/**
 * Static decoding (the lossless reference: one forward per scheduled step, canonical top-k) and
 * threshold decoding (Fast-dLLM: every candidate with confidence ≥ τ, at least one).
 */
final class StepDecoder extends RowDecoder {
  StepDecoder(DecodeRequest request, ModelSpec spec) {
    super(request, spec, 1);
    finishIfDone();
  }

  @Override
  List<Canvas> pending() {
    return done() ? List.of() : List.of(state);
  }

  @Override
  void onPredictions(List<Prediction> predictions, BlockCache lastFill) {
    Prediction p = predictions.get(0);
    state = config.method() == DecodeConfig.Method.THRESHOLD
        ? Selection.thresholdStep(state, p, config.threshold())
        : Selection.staticStep(state, p, schedule[Selection.stepIndex(state, schedule)]);
    stats.round(1);
    finishIfDone();
  }
}
