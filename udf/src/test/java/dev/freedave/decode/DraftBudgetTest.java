package dev.freedave.decode;

import static org.assertj.core.api.Assertions.assertThat;

import dev.freedave.model.CacheMode;
import dev.freedave.testkit.OracleModel;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The draft count follows the measured cost of forwards and the measured acceptance of drafts. */
class DraftBudgetTest {
  /** Feeds forward times of cost(positions) at every power of two, each size's shape met before. */
  private static void measure(DraftBudget b, java.util.function.LongUnaryOperator nanos) {
    for (long p = 1; p <= 1 << 16; p *= 2) {
      forward(b, p, nanos.applyAsLong(p));
    }
  }

  /** A forward of a shape seen before (a first sight is not counted), one shape per size. */
  private static void forward(DraftBudget b, long positions, long nanos) {
    b.forward(positions, 1, 1, nanos, "shape " + positions);
    b.forward(positions, 1, 1, nanos, "shape " + positions);
  }

  /** A budget on {@code c} whose rounds accepted every draft, after forwards of 32 positions took 1 ms. */
  private static DraftBudget everyDraftAcceptedAndSmallForwardsMeasured(DraftBudget.Costs c) {
    DraftBudget b = new DraftBudget(DraftBudget.Policy.AUTO, c);
    rounds(b, 100, 8, 7);
    forward(b, 32, 1_000_000);
    return b;
  }

  /** Four FreeDave rows (K = 4, no cache) through a scheduler with the budget on, two in flight. */
  private static void decodeFourRows(OracleModel m) {
    DecodeConfig cfg = DecodeConfig.of(DecodeConfig.Method.FREEDAVE, 16, 16, 4, 0.9);
    List<DecodeRequest> reqs = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      reqs.add(new DecodeRequest("r" + i, OracleDecodingTest.PROMPT, cfg, i));
    }
    new DecodeScheduler(m, 2, 64, "auto").decodeAll(reqs);
  }

  /** Rounds that sent k drafts and were accepted through index {@code reached}. */
  private static void rounds(DraftBudget b, int n, int sent, int reached) {
    for (int i = 0; i < n; i++) {
      b.round(sent, reached);
    }
  }

  @Test
  void offAlwaysSendsK() {
    DraftBudget b = new DraftBudget(DraftBudget.Policy.OFF, new DraftBudget.Costs());
    measure(b, p -> p * 1000);
    rounds(b, 100, 8, 0);
    assertThat(b.drafts(8, 64, 32, 0, 0, 1 << 20)).isEqualTo(8);
  }

  /** A step of {@code work} in one call. */
  private static BatchForward.StepWork oneCall(long work) {
    return new BatchForward.StepWork(work, 1);
  }

  /**
   * A fill draft at depth 3 is reached as often as drafts 1..3 are accepted in turn; it goes where
   * that share of a row's step is worth more than what it adds to the step, as a trial where the
   * step is larger than any measured, never where it adds a call, and always with the budget off.
   */
  @Test
  void aFillDraftGoesWhereTheStepItSavesIsWorthMoreThanItsWork() {
    DraftBudget dispatch = new DraftBudget(DraftBudget.Policy.AUTO, new DraftBudget.Costs());
    measure(dispatch, p -> 1_000_000 + 100 * p); // 1 ms a call, 0.1 us a position: 1024 more positions cost 0.1 ms
    rounds(dispatch, 99, 8, 7); // every depth accepted: (99 + 1) / (99 + 1)
    assertThat(dispatch.fillDraftsPay(List.of(3), oneCall(2048), oneCall(1024), 1)).isTrue();
    assertThat(dispatch.fillDraftsPay(List.of(3), new BatchForward.StepWork(2048, 2), oneCall(1024), 1))
        .as("a call more").isFalse();
    // depth 2 now accepted half the time (100 of 200 offers, with one pseudo-observation), depth 3
    // whenever depth 2 was: a fill draft at 3 is reached half the time, saving half of 1.1 ms / rows
    rounds(dispatch, 100, 8, 1);
    assertThat(dispatch.fillDraftsPay(List.of(3), oneCall(2048), oneCall(1024), 1)).isTrue();
    assertThat(dispatch.fillDraftsPay(List.of(3), oneCall(2048), oneCall(1024), 8)).as("a share of 8 rows").isFalse();
    assertThat(dispatch.fillDraftsPay(List.of(3, 3), oneCall(2048), oneCall(1024), 8)).as("two rows each save a share")
        .isTrue();
    assertThat(dispatch.fillDraftsPay(List.of(1), oneCall(2048), oneCall(1024), 8)).as("depth 1, always reached here")
        .isTrue();

    DraftBudget compute = new DraftBudget(DraftBudget.Policy.AUTO, new DraftBudget.Costs());
    measure(compute, p -> 1000 * p); // a forward costs its positions
    rounds(compute, 99, 8, 7);
    assertThat(compute.fillDraftsPay(List.of(3), oneCall(2048), oneCall(1024), 1)).as("its work is a whole step's")
        .isFalse();
    assertThat(compute.fillDraftsPay(List.of(3), oneCall(1 << 20), oneCall(1024), 8)).as("a size never measured")
        .isTrue();
    DraftBudget off = new DraftBudget(DraftBudget.Policy.OFF, new DraftBudget.Costs());
    measure(off, p -> 1000 * p);
    assertThat(off.fillDraftsPay(List.of(7), new BatchForward.StepWork(2048, 2), oneCall(1024), 8)).isTrue();
  }

  @Test
  void beforeAnythingIsMeasuredEveryDraftIsTried() {
    assertThat(new DraftBudget(DraftBudget.Policy.AUTO, new DraftBudget.Costs()).drafts(8, 4, 32, 0, 0, 1 << 20)).isEqualTo(8);
  }

  @Test
  void whenForwardsCostTheSameAtAnySizeAllDraftsGo() {
    DraftBudget b = new DraftBudget(DraftBudget.Policy.AUTO, new DraftBudget.Costs());
    measure(b, p -> 10_000_000);
    rounds(b, 50, 8, 2); // drafts beyond the third are never accepted: still free, so still sent
    assertThat(b.drafts(8, 8, 32, 0, 0, 1 << 20)).isEqualTo(8);
  }

  @Test
  void whenCostIsProportionalToPositionsPoorDraftsAreCut() {
    DraftBudget b = new DraftBudget(DraftBudget.Policy.AUTO, new DraftBudget.Costs());
    measure(b, p -> 1000 * p);
    rounds(b, 200, 8, 0); // nothing past the first draft is ever accepted
    assertThat(b.drafts(8, 8, 32, 0, 0, 1 << 20)).isEqualTo(1);
  }

  @Test
  void draftsThatPromiseLittleOverAStaticStepAreNotSent() {
    DraftBudget thin = new DraftBudget(DraftBudget.Policy.AUTO, new DraftBudget.Costs());
    measure(thin, p -> 1000 * (p + 3)); // nearly proportional: 8 accepted drafts promise 8 % over one
    rounds(thin, 200, 8, 7);
    assertThat(thin.drafts(8, 1, 32, 0, 0, 1 << 20)).isEqualTo(1);
    DraftBudget worth = new DraftBudget(DraftBudget.Policy.AUTO, new DraftBudget.Costs());
    measure(worth, p -> 1000 * (p + 32)); // half the cost of one draft is fixed: 8 promise 78 % more
    rounds(worth, 200, 8, 7);
    assertThat(worth.drafts(8, 1, 32, 0, 0, 1 << 20)).isEqualTo(8);
  }

  @Test
  void theCountFollowsTheRidgeAndGrowsBackAsRowsFinish() {
    DraftBudget b = new DraftBudget(DraftBudget.Policy.AUTO, new DraftBudget.Costs());
    measure(b, p -> 1_000_000 * Math.max(256, p)); // flat up to 256 positions, then linear
    rounds(b, 200, 8, 7); // every draft accepted
    int many = b.drafts(8, 32, 32, 0, 0, 1 << 20); // 32 rows: past the ridge at k = 1 already
    int few = b.drafts(8, 1, 32, 0, 0, 1 << 20); // one row left: 8 drafts are 256 positions, still flat
    assertThat(many).isEqualTo(1).isLessThan(few);
    assertThat(few).isEqualTo(8);
  }

  @Test
  void theFastestTimeAtASizeCountsAndAStaleSizeIsTriedAgain() {
    DraftBudget.Costs c = new DraftBudget.Costs();
    DraftBudget b = everyDraftAcceptedAndSmallForwardsMeasured(c);
    forward(b, 256, 900_000_000);
    assertThat(b.drafts(8, 1, 32, 0, 0, 1 << 20)).as("256 positions look slow").isLessThan(8);
    forward(b, 256, 1_000_000); // as fast as 32 after all
    assertThat(b.drafts(8, 1, 32, 0, 0, 1 << 20)).isEqualTo(8);
    forward(b, 256, 900_000_000);
    for (int i = 0; i < 300; i++) { // only small forwards for a while: the large size goes stale
      forward(b, 32, 1_000_000);
    }
    assertThat(c.cost(256)).isEqualTo(c.cost(32));
    forward(b, 256, 5_000_000); // seen again: the new time, not the old minimum
    assertThat(c.cost(256)).isEqualTo(5_000_000);
  }

  @Test
  void draftsThatAdvanceSlowerThanEstimatedSingleStepsStopForAWhile() {
    DraftBudget b = new DraftBudget(DraftBudget.Policy.AUTO, new DraftBudget.Costs());
    measure(b, p -> 10_000_000); // flat: by the estimate every draft is free
    rounds(b, 100, 8, 7);
    assertThat(b.drafts(8, 8, 32, 0, 0, 1 << 20)).isEqualTo(8);
    for (int i = 0; i < 4; i++) {
      b.progress(12, 40_000_000, true); // what drafted forwards did: 12 steps in 40 ms, below 8 rows x 1 step in 10
    }
    assertThat(b.drafts(8, 8, 32, 0, 0, 1 << 20)).isEqualTo(1);
    for (int i = 0; i < DraftBudget.VETO - 1; i++) {
      b.progress(8, 10_000_000, false);
      assertThat(b.drafts(8, 8, 32, 0, 0, 1 << 20)).as("forward %d of the veto", i).isEqualTo(1);
    }
    b.progress(8, 10_000_000, false);
    assertThat(b.drafts(8, 8, 32, 0, 0, 1 << 20)).as("tried again").isEqualTo(8);
    for (int i = 0; i < 4; i++) {
      b.progress(12, 40_000_000, true); // and failed again: the next veto lasts twice as long
    }
    int vetoed = 0;
    while (b.drafts(8, 8, 32, 0, 0, 1 << 20) == 1 && vetoed < 10 * DraftBudget.VETO) {
      b.progress(8, 10_000_000, false);
      vetoed++;
    }
    assertThat(vetoed).isEqualTo(2 * DraftBudget.VETO);
  }

  @Test
  void aRunStartsWithTheAcceptanceEarlierRunsMeasured() {
    DraftBudget.Acceptance shared = new DraftBudget.Acceptance();
    rounds(new DraftBudget(DraftBudget.Policy.AUTO, new DraftBudget.Costs(), shared, n -> n), 200, 8, 0);
    DraftBudget next = new DraftBudget(DraftBudget.Policy.AUTO, new DraftBudget.Costs(), shared, n -> n);
    DraftBudget fresh = new DraftBudget(DraftBudget.Policy.AUTO, new DraftBudget.Costs());
    for (DraftBudget b : List.of(next, fresh)) {
      measure(b, p -> 1000 * (p + 32)); // half of one draft's cost is fixed
    }
    assertThat(fresh.drafts(8, 1, 32, 0, 0, 1 << 20)).as("nothing known: every draft accepted").isEqualTo(8);
    assertThat(next.drafts(8, 1, 32, 0, 0, 1 << 20)).as("no draft past the first was ever accepted").isEqualTo(1);
  }

  @Test
  void aCachePolicysForwardsCountInItsOwnTable() {
    try (OracleModel m = new OracleModel(OracleDecodingTest.PROMPT.length, OracleDecodingTest.answer(16), 100, 0)) {
      decodeFourRows(m);
      assertThat(DraftBudget.costsOf(m, CacheMode.NONE).cost(19)).as("measured").isGreaterThan(1);
      assertThat(DraftBudget.costsOf(m, CacheMode.DUAL).cost(19)).as("nothing known").isEqualTo(1);
      assertThat(DraftBudget.costsOf(m, CacheMode.NONE)).isSameAs(DraftBudget.costsOf(m, CacheMode.NONE));
    }
  }

  @Test
  void aCachePolicysRowsCountTheirOwnAcceptance() {
    // a draft fails every third position
    try (OracleModel m = new OracleModel(OracleDecodingTest.PROMPT.length, OracleDecodingTest.answer(16), 3, 0)) {
      decodeFourRows(m);
      DraftBudget.Acceptance none = DraftBudget.acceptanceOf(m, CacheMode.NONE);
      DraftBudget.Acceptance dual = DraftBudget.acceptanceOf(m, CacheMode.DUAL);
      assertThat(IntStream.rangeClosed(1, 3).mapToDouble(none::given).min().orElseThrow()).as("measured").isLessThan(1);
      assertThat(IntStream.rangeClosed(1, 3).mapToDouble(dual::given)).as("nothing known").containsOnly(1.0);
      assertThat(DraftBudget.acceptanceOf(m, CacheMode.NONE)).isSameAs(DraftBudget.acceptanceOf(m, CacheMode.NONE));
    }
  }

  @Test
  void aStaleSizeStillBoundsWhatTheFreshPointsExtend() {
    DraftBudget.Costs c = new DraftBudget.Costs();
    DraftBudget b = new DraftBudget(DraftBudget.Policy.AUTO, c);
    rounds(b, 100, 8, 7); // every draft accepted
    forward(b, 1024, 2_000_000); // 8 rows x 8 drafts x 16 positions: 2 ms
    for (int i = 0; i < 300; i++) { // then single steps only, two sizes 25 % apart in work, 30 % apart in time
      forward(b, 128, 1_000_000);
      forward(b, 160, 1_300_000);
    }
    // extended from the fresh points alone 1024 would cost 9.4 ms and no drafts would go
    assertThat(c.cost(1024)).isEqualTo(2_000_000);
    assertThat(b.drafts(8, 8, 16, 0, 0, 1 << 20)).isEqualTo(8);
  }

  @Test
  void pastTheLargestKnownSizeCostsRiseAsTheLastTwoPointsDo() {
    DraftBudget.Costs rising = new DraftBudget.Costs();
    DraftBudget.Costs level = new DraftBudget.Costs();
    DraftBudget r = new DraftBudget(DraftBudget.Policy.AUTO, rising);
    DraftBudget l = new DraftBudget(DraftBudget.Policy.AUTO, level);
    forward(r, 128, 1_000_000);
    forward(r, 256, 2_000_000); // proportional so far
    forward(l, 128, 2_000_000);
    forward(l, 256, 2_000_000); // flat so far
    assertThat(rising.cost(1024)).isEqualTo(8_000_000);
    assertThat(level.cost(1024)).isEqualTo(2_000_000);
    for (DraftBudget b : List.of(r, l)) {
      rounds(b, 200, 8, 7); // every draft accepted
    }
    // 8 rows of 32 positions: one draft each is the largest size known; 8 drafts are 8x it, and a
    // trial goes at most twice as far as the largest size measured (EXPLORE)
    assertThat(r.drafts(8, 8, 32, 0, 0, 1 << 20)).isEqualTo(1);
    assertThat(l.drafts(8, 8, 32, 0, 0, 1 << 20)).isEqualTo(2);
  }

  @Test
  void aTrialGoesAtMostTwiceAsFarAsTheLargestSizeMeasuredAndFurtherWhereItPays() {
    DraftBudget b = new DraftBudget(DraftBudget.Policy.AUTO, new DraftBudget.Costs());
    rounds(b, 200, 8, 7); // every draft accepted
    forward(b, 256, 2_000_000); // 8 rows x 32 positions, one draft each: the one size known
    assertThat(b.drafts(8, 8, 32, 0, 0, 1 << 20)).as("512 is twice 256").isEqualTo(2);
    forward(b, 512, 2_000_000); // and as cheap: the next trial goes twice as far
    assertThat(b.drafts(8, 8, 32, 0, 0, 1 << 20)).isEqualTo(4);
    forward(b, 1024, 2_000_000);
    assertThat(b.drafts(8, 8, 32, 0, 0, 1 << 20)).isEqualTo(8);
    DraftBudget computeBound = new DraftBudget(DraftBudget.Policy.AUTO, new DraftBudget.Costs());
    rounds(computeBound, 200, 8, 7);
    forward(computeBound, 256, 2_000_000);
    forward(computeBound, 512, 4_000_000); // twice the work, twice the time: no drafts pay
    assertThat(computeBound.drafts(8, 8, 32, 0, 0, 1 << 20)).isEqualTo(1);
  }

  @Test
  void theGuardsBarIsTheBetterOfSingleStepsMeasuredAndEstimated() {
    // the estimate for a single step: 8 rows x 1 step in 10 ms = 0.8 steps per ms
    assertThat(guarded(1.6, 1.2)).as("single steps measured faster than the drafts").isEqualTo(1);
    assertThat(guarded(0.4, 0.6)).as("single steps measured slow (forwards on a row's own state advance "
        + "nothing), but the drafts are below the estimate").isEqualTo(1);
    assertThat(guarded(0.4, 1.0)).as("the drafts beat both").isEqualTo(8);
  }

  @Test
  void theGuardsEstimateIsTheTypicalTimeNotTheFastest() {
    DraftBudget b = new DraftBudget(DraftBudget.Policy.AUTO, new DraftBudget.Costs());
    measure(b, p -> 10_000_000);
    forward(b, 256, 2_000_000); // one lucky single-step forward (8 rows x 32): the fastest, far from typical
    rounds(b, 100, 8, 7);
    for (int i = 0; i < 4; i++) {
      b.progress(20, 10_000_000, true); // drafts: 2 steps per ms, above 8 steps in a typical 6.5 ms
    }
    assertThat(b.drafts(8, 8, 32, 0, 0, 1 << 20)).isEqualTo(8);
  }

  /** The draft count after 4 single and 4 drafted forwards of 10 ms advancing at these rates (steps per ms). */
  private static int guarded(double singlePerMs, double draftedPerMs) {
    DraftBudget b = new DraftBudget(DraftBudget.Policy.AUTO, new DraftBudget.Costs());
    measure(b, p -> 10_000_000);
    rounds(b, 100, 8, 7);
    for (int i = 0; i < 4; i++) {
      b.progress(Math.round(10 * singlePerMs), 10_000_000, false);
      b.progress(Math.round(10 * draftedPerMs), 10_000_000, true);
    }
    return b.drafts(8, 8, 32, 0, 0, 1 << 20);
  }

  @Test
  void paddingCountsAsWork() {
    // flat up to 256 positions, then proportional: 8 drafts of 32 positions are free as they stand
    DraftBudget exact = new DraftBudget(DraftBudget.Policy.AUTO, new DraftBudget.Costs());
    measure(exact, p -> 1_000_000 * Math.max(256, p));
    rounds(exact, 200, 8, 7);
    assertThat(exact.drafts(8, 1, 32, 0, 0, 1 << 20)).isEqualTo(8);
    // the same costs where a forward of more than one sequence runs 64 copies of each: past the flat part
    DraftBudget padded = new DraftBudget(DraftBudget.Policy.AUTO, new DraftBudget.Costs(),
        new DraftBudget.Acceptance(), n -> n == 1 ? 1 : 64 * n);
    measure(padded, p -> 1_000_000 * Math.max(256, p));
    rounds(padded, 200, 8, 7);
    assertThat(padded.drafts(8, 1, 32, 0, 0, 1 << 20)).isEqualTo(1);
  }

  @Test
  void aForwardIsMeasuredByTheSequencesItRan() {
    DraftBudget.Costs c = new DraftBudget.Costs();
    DraftBudget b = new DraftBudget(DraftBudget.Policy.AUTO, c);
    b.forward(300, 3, 4, 9_000_000, "3 sequences run as 4"); // first sight
    b.forward(300, 3, 4, 9_000_000, "3 sequences run as 4");
    assertThat(c.cost(400)).isEqualTo(9_000_000);
    assertThat(c.cost(300)).as("only the padded work is known").isEqualTo(9_000_000);
    b.forward(300, 3, 3, 3_000_000, "3 sequences run as 3");
    b.forward(300, 3, 3, 3_000_000, "3 sequences run as 3");
    assertThat(c.cost(300)).isEqualTo(3_000_000);
    assertThat(c.cost(350)).isEqualTo(6_000_000); // between the two
  }

  @Test
  void theFirstForwardOfAShapeIsNotCounted() {
    DraftBudget.Costs c = new DraftBudget.Costs();
    DraftBudget b = everyDraftAcceptedAndSmallForwardsMeasured(c);
    b.forward(256, 1, 1, 900_000_000, "new shape"); // libtorch compiling for it
    assertThat(c.cost(256)).isEqualTo(1_000_000);
    assertThat(b.drafts(8, 1, 32, 0, 0, 1 << 20)).as("still a trial: twice the 32 measured").isEqualTo(2);
    b.forward(256, 1, 1, 2_000_000, "new shape");
    assertThat(c.cost(256)).isEqualTo(2_000_000);
    b.forward(256, 1, 1, 900_000_000, "another shape of that size"); // its first sight too
    assertThat(c.cost(256)).isEqualTo(2_000_000);
  }

  @Test
  void draftsThatCrowdRowsOutOfAForwardAreCut() {
    DraftBudget b = new DraftBudget(DraftBudget.Policy.AUTO, new DraftBudget.Costs());
    measure(b, p -> 5_000_000); // every size costs the same
    rounds(b, 200, 8, 7); // every draft accepted
    // 64 rows in flight, 64 sequences a forward: 8 drafts each would serve 8 rows a forward (8 x 8 steps),
    // one each serves all 64 (64 steps)
    assertThat(b.drafts(8, 64, 100, 0, 0, 64)).isEqualTo(1);
    assertThat(b.drafts(8, 8, 100, 0, 0, 64)).isEqualTo(8);
  }

  @Test
  void acceptanceIsCountedPerDepth() {
    DraftBudget b = new DraftBudget(DraftBudget.Policy.AUTO, new DraftBudget.Costs());
    measure(b, p -> 1000 * (500 + p)); // a fixed part, then linear
    rounds(b, 100, 4, 1); // depth 1 always accepted, depth 2 never
    // depth 1 is worth its cost, depth 2 and beyond are not
    assertThat(b.drafts(4, 4, 32, 0, 0, 1 << 20)).isEqualTo(2);
  }
}
