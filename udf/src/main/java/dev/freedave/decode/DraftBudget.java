package dev.freedave.decode;

import dev.freedave.model.CacheMode;
import dev.freedave.model.DiffusionLM;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.WeakHashMap;
import java.util.function.IntUnaryOperator;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;

/**
 * How many drafts the FreeDave rows of the next forward send. A forward's cost grows with the query
 * positions it computes once it is past the device's ridge (on a GPU, a few hundred positions of an
 * 8B model; far more for a small one), while its gain is the static steps the accepted chains
 * advance. {@link Policy#AUTO} picks the count k (1 .. each row's K) that maximises the expected
 * steps advanced per unit of forward time, from two things measured while decoding: the forward time
 * at each size ({@link Costs}) and how often a draft at each depth is accepted given the one before
 * it was ({@link Acceptance}), both shared by every scheduler on the model in this JVM, one of each per
 * cache policy (its forwards are different programs, and a cache changes what the model predicts).
 * k = 1 costs what
 * a static step does and advances one step, so the choice never expects less than static decoding;
 * as rows finish (the tail of a partition) forwards get cheaper and k grows back. A guard checks the
 * choice against what forwards achieve: where drafted forwards advance slower than single steps, no
 * drafts go for a while. The tokens are the same for every k: FreeDave verifies whatever it sends.
 * {@link Policy#OFF} always sends K.
 */
final class DraftBudget {
  /** Whether the draft count adapts. */
  enum Policy {
    AUTO,
    OFF;

    static Policy parse(String s) {
      return switch (s.trim().toLowerCase(Locale.ROOT)) {
        case "auto" -> AUTO;
        case "off" -> OFF;
        default -> throw new IllegalArgumentException("unknown draft budget '" + s + "' (auto, off)");
      };
    }
  }

  private static final int DEPTHS = 64;
  /**
   * Drafts must promise this much more progress per second than one draft (a static step) to be
   * sent: the estimate rests on the fastest time seen at a size and on acceptance so far, and where a
   * forward is compute-bound (64 rows of the demo model in float32 on the H200) choices that looked a
   * little better came out 1-6 % slower than static over several runs. Where drafts pay, they pay
   * 1.5-3x, far above it; among counts that clear it the best estimate wins.
   */
  static final double MARGIN = 0.10;
  /**
   * A forward's work is at most this many times the largest work the cost table has measured: past
   * it the table only extends its points (flat where they do not rise), so a larger forward is a
   * trial, and a trial of 8 drafts on every row costs up to 8 forwards where drafts do not pay. On the
   * H200 with a random LLaDA-8B-shaped model (drafts almost never accepted, a compute-bound forward at
   * 8 rows), the one fresh point of static's size extended flat sent such trials three times a pass,
   * and FreeDave ran at 0.91x static (docs/results.md, "LLaDA-8B shape end to end"); with the cap, a
   * trial costs at most a second forward, and where the larger size pays the next trial goes twice
   * as far again.
   */
  static final int EXPLORE = 2;
  /** What a model's rows under one cache policy taught the budgets: forward costs and acceptance. */
  private record Learned(Costs costs, Acceptance acceptance) {}

  private static final Map<DiffusionLM, Map<CacheMode, Learned>> LEARNED = new WeakHashMap<>();

  private final Policy policy;
  private final Costs costs;
  /** The sequences a forward of n sequences runs (BatchForward's shape buckets on a GPU). */
  private final IntUnaryOperator padding;
  private final Acceptance acceptance;
  /**
   * The guard: static steps advanced per second, measured, by the forwards that carried drafts since
   * drafts were last allowed, and (decayed) by those that did not. The choice rests on estimates;
   * where they err the guard sees it: drafted forwards that advance slower than single steps (as
   * measured, never taken below what the typical time at their size gives) stop drafts for {@value #VETO} forwards, after which
   * drafts are tried and measured again; each veto that follows a failed trial lasts twice as long as
   * the one before (up to {@value #VETO_MAX}), so that where drafts never pay (a compute-bound
   * forward) the trials' cost fades.
   */
  static final int VETO = 64;
  static final int VETO_MAX = 1024;
  private static final int GUARD_MIN = 4;
  private final Progress drafted = new Progress(1);
  private final Progress single = new Progress(0.95);
  private int vetoLeft;
  private int vetoLength = VETO;

  /** Forwards run exactly the sequences they are given; acceptance starts unknown. */
  DraftBudget(Policy policy, Costs costs) {
    this(policy, costs, new Acceptance(), n -> n);
  }

  DraftBudget(Policy policy, Costs costs, Acceptance acceptance, IntUnaryOperator padding) {
    this.policy = policy;
    this.costs = costs;
    this.acceptance = acceptance;
    this.padding = padding;
  }

  /**
   * The cost table of {@code model}'s forwards for rows under cache policy {@code cache}, made on
   * first use. One table per policy: at one work a cached forward (attention over frozen keys, its
   * fills) and a full one cost differently, and in one table the fastest of either stood for both;
   * with the two policies' runs taking turns on one model (a sweep, the bench) FreeDave at 8 rows
   * sent fewer drafts and fell from 2.4-2.9x static to 1.8-2.2x (demo model, H200).
   */
  static Costs costsOf(DiffusionLM model, CacheMode cache) {
    return learned(model, cache).costs();
  }

  /**
   * The acceptance counts of {@code model}'s rows under cache policy {@code cache}, shared by its
   * schedulers as the cost table is: a run that starts without them assumes every draft accepted
   * until its first rounds come back, and its first forwards then carry every draft (at 64 rows in
   * flight on a compute-bound forward, a forward of 8x the work; FreeDave 0.93-0.96x static in one
   * wave of rows). One per policy: the cache's approximation changes the predictions drafts are
   * checked against, so a draft's chance differs between them (a random LLaDA-8B-shaped model on the
   * H200: FreeDave made 1.04-1.17x fewer forwards than static with the dual cache at 1 row, 1.00x
   * without a cache; docs/results.md, "LLaDA-8B shape end to end").
   */
  static Acceptance acceptanceOf(DiffusionLM model, CacheMode cache) {
    return learned(model, cache).acceptance();
  }

  private static Learned learned(DiffusionLM model, CacheMode cache) {
    synchronized (LEARNED) {
      return LEARNED.computeIfAbsent(model, m -> new EnumMap<>(CacheMode.class))
          .computeIfAbsent(cache, c -> new Learned(new Costs(), new Acceptance()));
    }
  }

  /** A verification round's outcome: {@code sent} drafts verified, the chain reached draft index {@code reached}. */
  void round(int sent, int reached) {
    acceptance.round(sent, reached);
  }

  /**
   * Among rounds that sent a draft at depth j and accepted depth j - 1, how many accepted j; counts
   * past {@value #HALVE_AT} are halved, so that old rounds weigh less than new ones.
   */
  static final class Acceptance {
    private static final long HALVE_AT = 1 << 16;
    private final long[] offered = new long[DEPTHS];
    private final long[] accepted = new long[DEPTHS];

    synchronized void round(int sent, int reached) {
      for (int j = 1; j < Math.min(sent, DEPTHS); j++) {
        if (reached >= j - 1) {
          offered[j]++;
          accepted[j] += reached >= j ? 1 : 0;
          if (offered[j] > HALVE_AT) {
            offered[j] /= 2;
            accepted[j] /= 2;
          }
        }
      }
    }

    /** The chance that depth j is accepted given j - 1 was, with one optimistic pseudo-observation. */
    synchronized double given(int j) {
      return (accepted[j] + 1.0) / (offered[j] + 1.0);
    }
  }

  /**
   * A step's forwards of input shape {@code shape} took {@code nanos} for {@code positions} query
   * positions of {@code sequences} sequences, run as {@code slots} (padding included).
   *
   * @return whether it counted: not at a shape's first sight (a compile); only then does its
   *     {@link #progress} count either
   */
  boolean forward(long positions, int sequences, int slots, long nanos, String shape) {
    return costs.observe(work(positions, sequences, slots), nanos, shape);
  }

  /**
   * What a counted forward of {@code nanos} achieved: its rows advanced {@code steps} static steps in
   * all; {@code withDrafts}: some row sent more than one sequence.
   */
  void progress(long steps, long nanos, boolean withDrafts) {
    (withDrafts ? drafted : single).add(steps, nanos);
    if (vetoLeft > 0 && --vetoLeft == 0) {
      drafted.clear(); // drafts may go again: what they achieve now decides
    }
  }

  private static long work(long positions, int sequences, int slots) {
    return sequences == 0 ? positions : positions * slots / sequences;
  }

  /**
   * The draft count for the next forwards: with k drafts a forward holds only as many drafting rows
   * as fit in {@code maxSequences} with the others, the rest wait for the next one.
   *
   * @param maxDrafts the most any drafting row may send (its K)
   * @param draftRows rows in flight that send drafts
   * @param perDraft query positions one draft of such a row computes
   * @param fixedPositions positions of the other rows in flight, one sequence each
   * @param fixedSteps those other rows: each advances one static step per forward
   * @param maxSequences the most sequences a forward carries
   */
  int drafts(int maxDrafts, int draftRows, long perDraft, long fixedPositions, int fixedSteps, int maxSequences) {
    if (policy == Policy.OFF || draftRows == 0 || maxDrafts <= 1) {
      return maxDrafts;
    }
    if (vetoed()) {
      return 1;
    }
    int best = 1;
    double bestRate = -1;
    double staticRate = 0;
    long staticWork = 0; // k = 1: every sequence is a step
    int staticSteps = 0;
    double advance = 0; // expected steps one row's chain advances with k drafts
    double reach = 1;
    long largest = costs.largestWork(); // 0: nothing measured yet, every size is a trial
    for (int k = 1; k <= maxDrafts; k++) {
      if (k > 1) {
        int j = Math.min(k - 1, DEPTHS - 1);
        reach *= acceptance.given(j);
      }
      advance += reach;
      int fit = Math.max(1, Math.min(draftRows, (maxSequences - fixedSteps) / k));
      int sequences = fixedSteps + fit * k;
      long work = work(fixedPositions + (long) fit * k * perDraft, sequences, padding.applyAsInt(sequences));
      if (k > 1 && largest > 0 && work > EXPLORE * largest) {
        continue;
      }
      double rate = (fit * advance + fixedSteps) / costs.cost(work);
      if (k == 1) {
        staticRate = rate;
        staticWork = work;
        staticSteps = sequences;
      }
      if (rate > bestRate * (1 + 1e-9)) { // ties go to fewer drafts
        bestRate = rate;
        best = k;
      }
    }
    if (bestRate < staticRate * (1 + MARGIN)) {
      return 1;
    }
    // the better of single steps as measured and as expected from the typical time at their size. Not
    // the measured alone: a FreeDave row's forward on its own state (after each block's fill) advances
    // nothing until the next round, so in a run whose single-sequence forwards are mostly those, the
    // measured rate is near 0 and no drafts would ever look worse (dual cache, 8 rows, this project's
    // CPU: FreeDave 0.86x static). Not the fastest time, which the choice above uses: drafted forwards
    // are measured as they come, and against the fastest single step they looked worse where they
    // paid (dual cache, 1 row, the CPU: 1.12x static where they had given 1.33x)
    double singleRate = staticSteps / costs.typical(staticWork);
    if (single.count() >= GUARD_MIN) {
      singleRate = Math.max(single.rate(), singleRate);
    }
    if (drafted.count() >= GUARD_MIN) {
      if (drafted.rate() < singleRate) {
        vetoLeft = vetoLength;
        vetoLength = Math.min(VETO_MAX, 2 * vetoLength);
        return 1;
      }
      vetoLength = VETO; // drafts pass: a later failure starts the vetoes afresh
    }
    return best;
  }

  /**
   * Whether a step's fill drafts are worth their work ({@link DraftDecoder#fillDraftDepth}): where
   * its chain reaches a fill draft, a row saves the forward it would take part in only to fill its
   * next block, which costs about what a row's share of a step does; the drafts cost what the step
   * costs more with them. Never where they add a model call to the step: on a GPU that is a call's
   * dispatch (a small model: as much as the step), on a CPU or where the forward is compute-bound a
   * fill's whole work, and a share of a step repays neither. Where they ride in a call the step
   * makes anyway (joined to a small model's cached call on a GPU, or to other rows' fills) they are
   * weighed by the cost table; a step larger than any it has measured is a trial, as a draft count is:
   * the table only extends its points there, and a 1-row step joined to a fill is a size no decoder
   * meets without fill drafts (extended from a fill and a cached call, the demo model's looked dear
   * enough in float32 on the H200 that none went).
   *
   * @param depths each fill draft's depth in its row's chain
   * @param with the step with them (BatchForward.estimatedWork)
   * @param without and without them
   * @param rows the rows in the step
   */
  boolean fillDraftsPay(List<Integer> depths, BatchForward.StepWork with, BatchForward.StepWork without, int rows) {
    if (policy == Policy.OFF) {
      return true;
    }
    if (with.calls() > without.calls()) {
      return false;
    }
    if (with.work() > costs.largestWork()) {
      return true;
    }
    double perRow = costs.cost(without.work()) / rows;
    double saved = 0;
    for (int depth : depths) {
      double reach = 1;
      for (int j = 1; j <= depth; j++) {
        reach *= acceptance.given(Math.min(j, DEPTHS - 1));
      }
      saved += reach * perRow;
    }
    return saved > costs.cost(with.work()) - costs.cost(without.work());
  }

  /** Whether the guard holds drafts back now. */
  boolean vetoed() {
    return vetoLeft > 0;
  }

  /** Steps and nanoseconds summed over forwards, older ones weighted down by {@code decay} per forward. */
  private static final class Progress {
    private final double decay;
    private double steps;
    private double nanos;
    private int count;

    Progress(double decay) {
      this.decay = decay;
    }

    void add(long s, long n) {
      steps = steps * decay + s;
      nanos = nanos * decay + n;
      count++;
    }

    int count() {
      return count;
    }

    /** Steps per nanosecond. */
    double rate() {
      return nanos == 0 ? 0 : steps / nanos;
    }

    void clear() {
      steps = 0;
      nanos = 0;
      count = 0;
    }
  }

  /**
   * Forward time by work, in bins a quarter of an octave wide (works within 19 % of each other pool):
   * per bin the fastest time seen and the work it was seen at (libtorch compiling for a new shape
   * only ever makes a call slower), and a moving average of its times; linear between the bins'
   * points. Work is the query positions a forward computed, scaled by the padding of its sequence
   * count (a GPU forward of 65 sequences runs 96: BatchForward's shape buckets), so that a size that
   * pads far costs what it computes. Bins of a whole octave let the fastest of 48 and 64 sequences
   * stand for both, which at compute-bound sizes sent drafts that cost a third more than the budget
   * expected (FreeDave 0.93-0.95x static, demo model, fp32, 32-64 rows on the H200); bins of a single
   * work made the curve as noisy as single timings (the 2-core CPU). The first forward of each input
   * shape is not counted at all: libtorch compiles its fused kernels for a shape on first sight (~20
   * ms on the H200 for a 3 ms forward of the demo model), and that one time, taken for the size's
   * cost, kept the budget away from the sizes it had met only once.
   *
   * <p>A bin not seen in the last {@value #STALE} forwards is stale: its fastest time no longer
   * counts (the device may have slowed, or that time was luck), and its fastest restarts when it is
   * seen again. An estimate from the fresh bins alone says what an unknown work costs: what its
   * known neighbours do, and past the largest known one what the last two known points give,
   * extended (flat where they do not rise: a dispatch-bound device, where larger forwards get tried
   * and measured; flat everywhere past it sent every draft into forwards of 8x the work whenever the
   * large sizes had gone stale: no cache, 8 rows, this project's CPU, FreeDave 0.85x static). A stale
   * bin's moving average still bounds that estimate from above: two fresh points a few percent apart
   * in work, extended eightfold, turned a few percent of noise into a forward of 8 drafts that looked
   * 3x dearer than measured, and every FreeDave run that followed a stretch of single steps (a static
   * run before it in the same JVM: a sweep, the bench's turns) started with few drafts (demo model,
   * fp32, 8 rows, no cache on the H200: 3.0 drafts a forward and 2.44x static, where 5 drafts had
   * given 2.67x). The bound never makes a bin dearer than the fresh estimate, so a size that once ran
   * slow is still tried again.
   */
  static final class Costs {
    private static final long STALE = 256;

    /** A bin's point: the fastest time and its work, a moving average of its times, when last seen. */
    private record Seen(long work, double nanos, double typical, long tick) {}

    /** The weight of the newest time in a bin's moving average. */
    private static final double RECENT = 0.25;

    private final TreeMap<Integer, Seen> byBin = new TreeMap<>();
    private final Set<String> shapes = new HashSet<>();
    private long tick;

    /** @return whether the forward counted: false at a shape's first sight */
    synchronized boolean observe(long work, long t, String shape) {
      if (shapes.add(shape)) {
        return false; // first sight: compiling, not computing
      }
      tick++;
      int bin = bin(work);
      Seen before = byBin.get(bin);
      if (before == null) {
        byBin.put(bin, new Seen(work, t, t, tick));
      } else {
        double typical = before.typical() + RECENT * (t - before.typical());
        boolean faster = t < before.nanos() || !fresh(before);
        byBin.put(bin, faster ? new Seen(work, t, typical, tick) : new Seen(before.work(), before.nanos(), typical, tick));
      }
      return true;
    }

    private boolean fresh(Seen s) {
      return tick - s.tick() < STALE;
    }

    /**
     * What a forward of {@code work} costs at best: the fresh bins' fastest times, linear between
     * them and extended past them, bounded by what every bin gives with the stale ones at their
     * moving average.
     */
    synchronized double cost(long work) {
      double remembered = between(work, s -> true, s -> fresh(s) ? s.nanos() : s.typical());
      if (byBin.values().stream().noneMatch(this::fresh)) {
        return remembered;
      }
      return Math.min(between(work, this::fresh, Seen::nanos), remembered);
    }

    /** The largest work a counted forward has had (0 if none), stale bins included. */
    synchronized long largestWork() {
      return byBin.values().stream().mapToLong(Seen::work).max().orElse(0);
    }

    /** The moving averages, every bin: what a forward of {@code work} typically takes. */
    synchronized double typical(long work) {
      return between(work, s -> true, Seen::typical);
    }

    /** Linear between the {@code use}d bins' points around {@code work}, flat before the first. */
    private double between(long work, Predicate<Seen> use, ToDoubleFunction<Seen> time) {
      Seen before = null;
      Seen low = null;
      for (Seen s : byBin.values()) {
        if (!use.test(s)) {
          continue;
        }
        if (s.work() >= work) {
          if (low == null) {
            return time.applyAsDouble(s);
          }
          double f = (double) (work - low.work()) / (s.work() - low.work());
          return time.applyAsDouble(low) + f * (time.applyAsDouble(s) - time.applyAsDouble(low));
        }
        before = low;
        low = s;
      }
      if (low == null) {
        return 1; // nothing known: every size costs the same
      }
      // past the largest known work: along the last two points where they rise, else flat
      double slope = before == null ? 0
          : (time.applyAsDouble(low) - time.applyAsDouble(before)) / (low.work() - before.work());
      return time.applyAsDouble(low) + Math.max(0, slope) * (work - low.work());
    }

    private static int bin(long work) {
      return (int) Math.floor(4 * Math.log(Math.max(1, work)) / Math.log(2));
    }
  }
}
