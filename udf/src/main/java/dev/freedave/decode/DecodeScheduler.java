package dev.freedave.decode;

import dev.freedave.model.CacheMode;
import dev.freedave.model.DiffusionLM;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.EnumMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.function.Consumer;

/**
 * Continuous batching over one model: up to {@code maxRowsInFlight} rows decode at once; each
 * forward carries, for every row that fits, all the sequences it needs (its state, or its K drafts),
 * up to {@code maxSequencesPerForward}. A finished row leaves and the next input row takes its slot.
 * Results come out in completion order.
 */
public final class DecodeScheduler {
  private final DiffusionLM model;
  private final int maxRowsInFlight;
  private final int maxSequencesPerForward;
  /** A broken model must not pass for a fast one: NaN logits would argmax to token 0 at every step. */
  static final String NON_FINITE = "the model's logits are not finite (NaN or Inf): its weights hold NaN/Inf, or "
      + "float16 activations overflowed (try model.dtype = float32)";
  private final DraftBudget.Policy draftBudget;
  private Consumer<ForwardEvent> listener = e -> {};

  /**
   * What one batched forward did (nanos: the forward and predict() reduction), for progress counters;
   * {@code shape} names the input shapes of its model calls (equal strings, equal shapes);
   * {@code draftLimit} the draft count it set for its FreeDave rows' next round (0: it had none) and
   * {@code vetoed} whether the draft budget's guard was holding drafts back then.
   */
  public record ForwardEvent(int rows, int sequences, int length, long nanos, String shape, int draftLimit,
      boolean vetoed) {}

  /** With the draft budget off: every FreeDave round sends its K drafts. */
  public DecodeScheduler(DiffusionLM model, int maxRowsInFlight, int maxSequencesPerForward) {
    this(model, maxRowsInFlight, maxSequencesPerForward, "off");
  }

  /**
   * @param draftBudget {@code auto}: FreeDave rows send the number of drafts (up to K) that the run's
   *     measured forward costs and acceptance say advances fastest ({@link DraftBudget}); {@code off}: K
   */
  public DecodeScheduler(DiffusionLM model, int maxRowsInFlight, int maxSequencesPerForward, String draftBudget) {
    if (maxRowsInFlight < 1 || maxSequencesPerForward < 1) {
      throw new IllegalArgumentException("max rows in flight and max sequences per forward must be >= 1");
    }
    this.model = model;
    this.maxRowsInFlight = maxRowsInFlight;
    this.maxSequencesPerForward = maxSequencesPerForward;
    this.draftBudget = DraftBudget.Policy.parse(draftBudget);
  }

  public DecodeScheduler onForward(Consumer<ForwardEvent> l) {
    this.listener = l;
    return this;
  }

  /** Decodes every request; results in input order. */
  public List<DecodeResult> decodeAll(List<DecodeRequest> requests) {
    // fresh request objects, so that identity tells even equal requests apart
    Map<DecodeRequest, Integer> order = new IdentityHashMap<>();
    List<DecodeRequest> tagged = new ArrayList<>();
    for (DecodeRequest r : requests) {
      DecodeRequest t = new DecodeRequest(r.id(), r.prompt(), r.config(), r.seed());
      order.put(t, tagged.size());
      tagged.add(t);
    }
    DecodeResult[] out = new DecodeResult[requests.size()];
    Run run = new Run(tagged.iterator());
    while (run.hasNext()) {
      Run.Keyed k = run.nextKeyed();
      out[order.get(k.request())] = k.result();
    }
    return List.of(out);
  }

  private final class Run {
    record Keyed(DecodeRequest request, DecodeResult result) {}

    private final Iterator<DecodeRequest> input;
    private final List<RowDecoder> active = new ArrayList<>();
    private final Deque<Keyed> ready = new ArrayDeque<>();
    /** A budget per cache policy of the rows, each on its policy's cost table. */
    private final Map<CacheMode, DraftBudget> budgets = new EnumMap<>(CacheMode.class);
    private int rotation;

    Run(Iterator<DecodeRequest> input) {
      this.input = input;
    }

    boolean hasNext() {
      while (ready.isEmpty() && (input.hasNext() || !active.isEmpty())) {
        step();
      }
      return !ready.isEmpty();
    }

    Keyed nextKeyed() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      return ready.poll();
    }

    private void step() {
      while (active.size() < maxRowsInFlight && input.hasNext()) {
        DecodeRequest r = input.next();
        RowDecoder d;
        try {
          if (r.config().cache() != CacheMode.NONE && !model.supportsCache()) {
            throw new IllegalArgumentException("cache = " + r.config().cache().label() + " needs a block cache, which "
                + model.getClass().getSimpleName() + " does not have; use cache = none");
          }
          d = RowDecoder.create(r, model.spec(), maxSequencesPerForward, budget(r.config().cache()));
        } catch (IllegalArgumentException e) {
          ready.add(new Keyed(r, DecodeResult.failed(r, e.getMessage())));
          continue;
        }
        if (d.done()) {
          ready.add(new Keyed(r, d.result()));
        } else {
          active.add(d);
        }
      }
      if (active.isEmpty()) {
        return;
      }
      // pack whole rows (a row's drafts never split over two forwards); where a row is left out, the
      // next step starts further on, for fairness. Where all fit, the order stays: rows that filled
      // together then read their caches in their fill's order, which needs no stacking (FillBatch).
      List<RowDecoder> rows = new ArrayList<>();
      List<List<Canvas>> wanted = new ArrayList<>();
      List<Sequence> batch = new ArrayList<>();
      int start = rotation % active.size();
      for (int i = 0; i < active.size(); i++) {
        RowDecoder d = active.get((start + i) % active.size());
        List<Canvas> p = d.pending();
        if (batch.size() + p.size() > maxSequencesPerForward) {
          rotation = start + 1;
          continue;
        }
        rows.add(d);
        wanted.add(p);
        for (Canvas c : p) {
          batch.add(d.sequence(c));
        }
      }
      batch = weighFillDrafts(rows, wanted, batch);
      BatchForward.Output forward;
      long t0 = System.nanoTime();
      try {
        forward = BatchForward.run(model, batch);
      } catch (RuntimeException e) {
        for (RowDecoder d : rows) {
          d.fail("forward failed: " + e);
        }
        retire(rows);
        return;
      }
      long nanos = System.nanoTime() - t0;
      long positions = 0;
      int at = 0;
      for (int i = 0; i < rows.size(); i++) {
        positions += rows.get(i).recordForward(batch.subList(at, at + wanted.get(i).size()));
        at += wanted.get(i).size();
      }
      // a forward counts in the table of its rows' cache policy; one of rows under several counts in none
      CacheMode policy = policyOf(rows);
      boolean counted = policy != null
          && budget(policy).forward(positions, batch.size(), forward.slots(), nanos, forward.shape());
      int limit = limitDrafts(rows);
      int maxLen = batch.stream().mapToInt(s -> s.tokens().length).max().orElse(0);
      listener.accept(new ForwardEvent(rows.size(), batch.size(), maxLen, nanos, forward.shape(), limit,
          rows.stream().anyMatch(d -> d instanceof DraftDecoder && budget(d.config.cache()).vetoed())));
      long stepsBefore = 0;
      for (RowDecoder d : rows) {
        stepsBefore += d.stats.steps();
      }
      at = 0;
      for (int i = 0; i < rows.size(); i++) {
        RowDecoder d = rows.get(i);
        List<Canvas> p = wanted.get(i);
        d.onForward(forward.predictions().subList(at, at + p.size()),
            Arrays.asList(forward.filled()).subList(at, at + p.size()));
        at += p.size();
      }
      long steps = -stepsBefore;
      for (RowDecoder d : rows) {
        steps += d.stats.steps();
      }
      if (counted) {
        budget(policy).progress(steps, nanos, batch.size() > rows.size());
      }
      retire(rows);
    }

    /**
     * The step's batch with its rows' fill drafts where their budget says they pay, else without
     * them (each such row's round then sends its other drafts; {@code wanted} follows). A step of
     * rows under several cache policies (only through this API) sends none.
     */
    private List<Sequence> weighFillDrafts(List<RowDecoder> rows, List<List<Canvas>> wanted, List<Sequence> batch) {
      List<Integer> depths = new ArrayList<>();
      List<Sequence> without = new ArrayList<>();
      int at = 0;
      for (int i = 0; i < rows.size(); i++) {
        int depth = rows.get(i) instanceof DraftDecoder dd ? dd.fillDraftDepth() : 0;
        int n = wanted.get(i).size();
        if (depth > 0) {
          depths.add(depth);
        }
        without.addAll(batch.subList(at, at + (depth > 0 ? n - 1 : n)));
        at += n;
      }
      if (depths.isEmpty()) {
        return batch;
      }
      CacheMode policy = policyOf(rows);
      if (policy != null && budget(policy).fillDraftsPay(depths, BatchForward.estimatedWork(model, batch),
          BatchForward.estimatedWork(model, without), rows.size())) {
        return batch;
      }
      for (int i = 0; i < rows.size(); i++) {
        if (rows.get(i) instanceof DraftDecoder dd && dd.fillDraftDepth() > 0) {
          dd.dropFillDraft();
          wanted.set(i, dd.pending());
        }
      }
      return without;
    }

    /** The cache policy of all {@code rows}; null where they have several (only through this API: a partition decodes under one config). */
    private static CacheMode policyOf(List<RowDecoder> rows) {
      return rows.stream().map(d -> d.config.cache()).distinct().count() == 1 ? rows.get(0).config.cache() : null;
    }

    private DraftBudget budget(CacheMode policy) {
      return budgets.computeIfAbsent(policy, c -> new DraftBudget(draftBudget, DraftBudget.costsOf(model, c),
          DraftBudget.acceptanceOf(model, c), BatchForward.padding(model)));
    }

    /**
     * The draft count the FreeDave rows of this forward build their next round with, per cache
     * policy among them from its budget, with every other row in flight as fixed work.
     *
     * @return the largest such count, 0 where this forward had no FreeDave row
     */
    private int limitDrafts(List<RowDecoder> rows) {
      int limit = 0;
      for (CacheMode policy : rows.stream().filter(d -> d instanceof DraftDecoder).map(d -> d.config.cache())
          .distinct().toList()) {
        int draftRows = 0;
        int maxDrafts = 1;
        long draftPositions = 0;
        long fixed = 0;
        int fixedSteps = 0;
        for (RowDecoder d : active) {
          if (d instanceof DraftDecoder dd && d.config.cache() == policy) {
            draftRows++;
            maxDrafts = Math.max(maxDrafts, dd.maxDrafts());
            draftPositions += d.positionsPerSequence();
          } else {
            fixed += d.positionsPerSequence();
            fixedSteps++;
          }
        }
        long perDraft = draftRows == 0 ? 0 : Math.max(1, draftPositions / draftRows);
        int k = budget(policy).drafts(maxDrafts, draftRows, perDraft, fixed, fixedSteps, maxSequencesPerForward);
        for (RowDecoder d : rows) {
          if (d instanceof DraftDecoder dd && d.config.cache() == policy) {
            dd.limitDrafts(k);
          }
        }
        limit = Math.max(limit, k);
      }
      return limit;
    }

    private void retire(List<RowDecoder> rows) {
      for (RowDecoder d : rows) {
        if (d.done()) {
          active.remove(d);
          ready.add(new Keyed(d.request, d.result()));
        }
      }
    }
  }
}
