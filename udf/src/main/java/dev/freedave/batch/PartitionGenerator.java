package dev.freedave.batch;

import dev.freedave.decode.DecodeConfig;
import dev.freedave.decode.DecodeRequest;
import dev.freedave.decode.DecodeResult;
import dev.freedave.decode.DecodeScheduler;
import dev.freedave.model.ModelSpec;
import dev.freedave.text.TextCodec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Decodes one partition for one decoder config, with no Spark in sight: tokenize, sort by prompt
 * length (so batches hold similar lengths), decode with continuous batching, and turn every input
 * row, good or bad, into exactly one output row.
 */
public final class PartitionGenerator {
  private final GenerateSettings settings;
  private final ExecutorModels.Loaded loaded;

  public PartitionGenerator(GenerateSettings settings, ExecutorModels.Loaded loaded) {
    this.settings = settings;
    this.loaded = loaded;
  }

  /** Counters a caller can forward to Spark accumulators; both default to doing nothing. */
  public interface Progress {
    Progress NONE = new Progress() {};

    default void forward(DecodeScheduler.ForwardEvent e) {}

    default void row(OutputRow r) {}
  }

  public List<OutputRow> run(List<InputRow> rows, DecodeConfig config, Progress progress) {
    TextCodec codec = loaded.codec();
    ModelSpec spec = loaded.model().spec();
    String hash = settings.configHash(config);
    List<OutputRow> out = new ArrayList<>(rows.size());
    record Tokenized(InputRow row, int[] ids) {}
    List<Tokenized> good = new ArrayList<>();
    for (InputRow r : rows) {
      String problem = null;
      int[] ids = null;
      if (r.prompt() == null || r.prompt().isBlank()) {
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
        OutputRow bad = error(r, config, hash, problem, ids == null ? 0 : ids.length);
        out.add(bad);
        progress.row(bad);
      } else {
        good.add(new Tokenized(r, ids));
      }
    }
    good.sort(Comparator.<Tokenized>comparingInt(t -> t.ids().length).thenComparing(t -> String.valueOf(t.row().id())));

    boolean audit = settings.auditStatic() && config.method() != DecodeConfig.Method.STATIC;
    DecodeConfig staticConfig = config.withMethod(DecodeConfig.Method.STATIC);
    List<DecodeRequest> requests = new ArrayList<>();
    for (int i = 0; i < good.size(); i++) {
      Tokenized t = good.get(i);
      requests.add(new DecodeRequest(Integer.toString(i), t.ids(), config, t.row().seedOrDefault()));
      if (audit) {
        requests.add(new DecodeRequest("static:" + i, t.ids(), staticConfig, t.row().seedOrDefault()));
      }
    }
    DecodeScheduler scheduler = new DecodeScheduler(loaded.model(), settings.maxRowsInFlight(),
        settings.maxSequencesPerForward()).onForward(progress::forward);
    Map<String, DecodeResult> byKey = new HashMap<>();
    for (DecodeResult r : scheduler.decodeAll(requests)) {
      byKey.put(r.id(), r);
    }
    for (int i = 0; i < good.size(); i++) {
      Tokenized t = good.get(i);
      DecodeResult r = byKey.get(Integer.toString(i));
      Boolean match = null;
      if (config.method() == DecodeConfig.Method.STATIC && settings.auditStatic()) {
        match = r.error() == null ? Boolean.TRUE : null;
      } else if (audit) {
        DecodeResult s = byKey.get("static:" + i);
        match = r.error() == null && s.error() == null ? Arrays.equals(r.tokens(), s.tokens()) : null;
      }
      OutputRow row = r.error() != null ? error(t.row(), config, hash, r.error(), t.ids().length)
          : success(t.row(), t.ids().length, config, hash, r, spec, codec, match);
      out.add(row);
      progress.row(row);
    }
    return out;
  }

  private OutputRow success(InputRow in, int promptTokens, DecodeConfig c, String hash, DecodeResult r,
      ModelSpec spec, TextCodec codec, Boolean match) {
    int[] tokens = r.tokens();
    int[] answer = Arrays.copyOf(tokens, spec.answerLength(tokens));
    String completion = codec.decode(answer);
    Boolean correct = in.answer() == null ? null : AnswerCheck.correct(completion, in.answer());
    return new OutputRow(in.id(), in.prompt(), completion, tokens, r.finishReason().label, null, c.method().label,
        draftSteps(c), c.blockLength(), c.genLength(), threshold(c), c.cache().label(), r.stats().nfe(),
        r.stats().staticSteps(), r.stats().tpf(), r.stats().acceptedHist(), r.stats().positionsComputed(),
        r.stats().decodeMs(), promptTokens, answer.length, match, correct, settings.modelId(), hash);
  }

  private OutputRow error(InputRow in, DecodeConfig c, String hash, String error, int promptTokens) {
    return new OutputRow(in.id(), in.prompt(), null, new int[0], DecodeResult.FinishReason.ERROR.label, error,
        c.method().label, draftSteps(c), c.blockLength(), c.genLength(), threshold(c), c.cache().label(), 0,
        0, 0, new int[0], 0, 0, promptTokens, 0, null, null, settings.modelId(), hash);
  }

  /** Null where the decoder has no such parameter, so the summary can print null, not a misleading value. */
  static Integer draftSteps(DecodeConfig c) {
    return c.method().drafts() ? c.draftSteps() : null;
  }

  static Double threshold(DecodeConfig c) {
    return c.method().thresholdBased() ? c.threshold() : null;
  }
}
