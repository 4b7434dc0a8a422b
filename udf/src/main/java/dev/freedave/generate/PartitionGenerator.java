package dev.freedave.generate;

import dev.freedave.decode.DecodeConfig;
import dev.freedave.decode.DecodeRequest;
import dev.freedave.decode.DecodeResult;
import dev.freedave.decode.DecodeScheduler;
import dev.freedave.model.LoadedModel;
import dev.freedave.model.ModelSpec;
import dev.freedave.text.TextCodec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Decodes one partition for one decoder config, with no Spark in sight: tokenize, sort by prompt
 * length (so batches hold similar lengths), decode with continuous batching, and turn every input
 * row, good or bad, into exactly one output row.
 */
public final class PartitionGenerator {
  private final GenerateSettings settings;
  private final LoadedModel loaded;

  public PartitionGenerator(GenerateSettings settings, LoadedModel loaded) {
    this.settings = settings;
    this.loaded = loaded;
  }

  /** Counters a caller can forward to Spark accumulators; both default to doing nothing. */
  public interface Progress {
    Progress NONE = new Progress() {};

    default void forward(DecodeScheduler.ForwardEvent e) {}

    default void row(OutputRow r) {}
  }

  /** One output row per input row, in input order. */
  public List<OutputRow> run(List<InputRow> rows, DecodeConfig config, Progress progress) {
    TextCodec codec = loaded.codec();
    ModelSpec spec = loaded.model().spec();
    OutputRow.Run run = OutputRow.Run.of(config, settings.modelId(), settings.configHash(config));
    OutputRow[] out = new OutputRow[rows.size()];
    record Tokenized(int index, int[] ids) {}
    List<Tokenized> good = new ArrayList<>();
    for (int i = 0; i < rows.size(); i++) {
      InputRow r = rows.get(i);
      String problem = null;
      int[] ids = null;
      if (r.problem() != null) {
        problem = r.problem();
      } else if (r.prompt() == null || r.prompt().isBlank()) {
        problem = "null or empty prompt";
      } else {
        try {
          ids = codec.encode(settings.template().apply(r.prompt()));
          if (ids.length == 0) {
            problem = "prompt has no tokens";
          }
        } catch (RuntimeException e) {
          problem = "cannot tokenize prompt: " + e.getMessage();
        }
      }
      if (problem != null) {
        out[i] = new OutputRow(r.id(), r.prompt(), r.inputHash(), run,
            OutputRow.Decoded.failed(problem, ids == null ? 0 : ids.length));
        progress.row(out[i]);
      } else {
        good.add(new Tokenized(i, ids));
      }
    }
    good.sort(Comparator.<Tokenized>comparingInt(t -> t.ids().length)
        .thenComparing(t -> String.valueOf(rows.get(t.index()).id())));

    // with the audit, each row's static decoding follows it: result 2i is the row, 2i + 1 its audit
    boolean audit = settings.auditStatic() && config.method() != DecodeConfig.Method.STATIC;
    int stride = audit ? 2 : 1;
    DecodeConfig staticConfig = config.withMethod(DecodeConfig.Method.STATIC);
    List<DecodeRequest> requests = new ArrayList<>();
    for (Tokenized t : good) {
      InputRow r = rows.get(t.index());
      requests.add(new DecodeRequest(r.id(), t.ids(), config, r.seedOrDefault()));
      if (audit) {
        requests.add(new DecodeRequest(r.id(), t.ids(), staticConfig, r.seedOrDefault()));
      }
    }
    List<DecodeResult> results = new DecodeScheduler(loaded.model(), settings.maxRowsInFlight(),
        settings.maxSequencesPerForward(), settings.draftBudget()).onForward(progress::forward).decodeAll(requests);
    for (int g = 0; g < good.size(); g++) {
      Tokenized t = good.get(g);
      InputRow in = rows.get(t.index());
      DecodeResult r = results.get(stride * g);
      Boolean match = null;
      if (config.method() == DecodeConfig.Method.STATIC && settings.auditStatic()) {
        match = r.error() == null ? Boolean.TRUE : null;
      } else if (audit) {
        DecodeResult s = results.get(stride * g + 1);
        match = r.error() == null && s.error() == null ? Arrays.equals(r.tokens(), s.tokens()) : null;
      }
      OutputRow.Decoded d = r.error() != null ? OutputRow.Decoded.failed(r.error(), t.ids().length)
          : decoded(in, t.ids().length, r, spec, codec, match);
      out[t.index()] = new OutputRow(in.id(), in.prompt(), in.inputHash(), run, d);
      progress.row(out[t.index()]);
    }
    return List.of(out);
  }

  private static OutputRow.Decoded decoded(InputRow in, int promptTokens, DecodeResult r, ModelSpec spec,
      TextCodec codec, Boolean match) {
    int[] tokens = r.tokens();
    int[] answer = Arrays.copyOf(tokens, spec.answerLength(tokens));
    String completion = codec.decode(answer);
    Boolean correct = in.answer() == null ? null : AnswerCheck.correct(completion, in.answer());
    return new OutputRow.Decoded(completion, tokens, r.finishReason().label, null, r.stats(), promptTokens,
        answer.length, match, correct);
  }
}
