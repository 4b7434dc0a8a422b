package dev.freedave.decode;

import static org.assertj.core.api.Assertions.assertThat;

import dev.freedave.testkit.OracleModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Trajectories and forward counts on the oracle model, checked against counts worked out by hand. */
class OracleDecodingTest {
  static final int[] PROMPT = {4, 5, 6};

  static int[] answer(int n) {
    int[] a = new int[n];
    for (int i = 0; i < n; i++) {
      a[i] = 2 + (i * 7) % 28; // never MASK, never EOS
    }
    return a;
  }

  static DecodeResult decode(OracleModel model, DecodeConfig cfg) {
    return new DecodeScheduler(model, 4, 64).decodeAll(List.of(new DecodeRequest("r", PROMPT, cfg, 0))).get(0);
  }

  @Test
  void staticWritesTheAnswerLeftToRightInOneForwardPerToken() {
    int[] ans = answer(12);
    try (OracleModel m = new OracleModel(PROMPT.length, ans, 3, 0)) {
      DecodeResult r = decode(m, DecodeConfig.of(DecodeConfig.Method.STATIC, 12, 4, 1, 0.9));
      assertThat(r.tokens()).containsExactly(ans);
      assertThat(r.stats().nfe()).isEqualTo(12);
      assertThat(r.stats().staticSteps()).isEqualTo(12);
      assertThat(m.forwards).isEqualTo(12);
      assertThat(r.finishReason()).isEqualTo(DecodeResult.FinishReason.LENGTH);
    }
  }

  /**
   * One block of 12, traps at 3, 6, 9, unbounded drafts: round 1 certifies {0,1,2} (the draft
   * adding 3 carries the trap's guess), round 2 {3,4,5}, round 3 {6,7,8}, round 4 {9,10,11} where the
   * draft completing the row needs no forward. 1 initial forward + 4 rounds = 5.
   */
  @Test
  void freeDaveStopsEachChainAtATrap() {
    int[] ans = answer(12);
    try (OracleModel m = new OracleModel(PROMPT.length, ans, 3, 0)) {
      DecodeResult r = decode(m, DecodeConfig.of(DecodeConfig.Method.FREEDAVE, 12, 12, 12, 0.9));
      assertThat(r.tokens()).containsExactly(ans);
      assertThat(r.stats().nfe()).isEqualTo(5);
      assertThat(r.stats().staticSteps()).isEqualTo(12);
      assertThat(r.stats().acceptedHist()[3]).isEqualTo(4);
      // drafts per round = steps left in the block, the final one never forwarded:
      // 1 + 11 + 8 + 5 + 2 sequences, each prompt + 12 long
      assertThat(r.stats().positionsComputed()).isEqualTo(27L * 15);
    }
  }

  /**
   * No traps (period larger than the row): every draft is right, so a round advances K steps within
   * the block. gen 8, block 4, K 2: initial forward, then rounds {0,1} {2,3} {4,5} {6,7}; the last
   * round forwards only its first draft. 1 + 4 = 5 forwards for 8 tokens.
   */
  @Test
  void freeDaveWithoutTrapsAdvancesKStepsPerRound() {
    int[] ans = answer(8);
    try (OracleModel m = new OracleModel(PROMPT.length, ans, 100, 0)) {
      DecodeResult r = decode(m, DecodeConfig.of(DecodeConfig.Method.FREEDAVE, 8, 4, 2, 0.9));
      assertThat(r.tokens()).containsExactly(ans);
      assertThat(r.stats().nfe()).isEqualTo(5);
      assertThat(r.stats().acceptedHist()).containsExactly(0, 0, 4);
      assertThat(r.stats().tpf()).isEqualTo(8 / 5.0);
    }
  }

  /** Traps everywhere: every stale guess is wrong, FreeDave degrades to static's count and no worse. */
  @Test
  void freeDaveNeverCostsMoreForwardsThanStatic() {
    int[] ans = answer(8);
    try (OracleModel m = new OracleModel(PROMPT.length, ans, 1, 0)) {
      DecodeResult r = decode(m, DecodeConfig.of(DecodeConfig.Method.FREEDAVE, 8, 8, 4, 0.9));
      assertThat(r.tokens()).containsExactly(ans);
      // initial forward + 7 rounds of one step; the 8th step is the final state: no forward
      assertThat(r.stats().nfe()).isEqualTo(8);
      assertThat(r.stats().acceptedHist()[1]).isEqualTo(8);
    }
  }

  /** Dream-style offset: the same oracle read one position earlier gives the same trajectory and counts. */
  @ParameterizedTest
  @CsvSource({"static,12", "freedave,5"})
  void predictionOffsetIsHonoured(String method, int nfe) {
    int[] ans = answer(12);
    try (OracleModel m = new OracleModel(PROMPT.length, ans, 3, 1)) {
      DecodeResult r = decode(m, DecodeConfig.of(DecodeConfig.Method.parse(method), 12, 12, 12, 0.9));
      assertThat(r.tokens()).containsExactly(ans);
      assertThat(r.stats().nfe()).isEqualTo(nfe);
    }
  }

  /** An all-EOS block ends the row: static runs 8 steps, not 12, and FreeDave agrees. */
  @ParameterizedTest
  @CsvSource({"static,8", "freedave,5"})
  void eosBlockEndsTheRow(String method, int nfe) {
    int[] ans = answer(12);
    Arrays.fill(ans, 4, 12, OracleModel.EOS);
    ans[3] = OracleModel.EOS;
    try (OracleModel m = new OracleModel(PROMPT.length, ans, 100, 0)) {
      DecodeResult r = decode(m, DecodeConfig.of(DecodeConfig.Method.parse(method), 12, 4, 2, 0.9));
      assertThat(r.tokens()).containsExactly(ans);
      assertThat(r.finishReason()).isEqualTo(DecodeResult.FinishReason.EOS);
      assertThat(r.stats().staticSteps()).isEqualTo(8);
      assertThat(r.stats().tokensDecoded()).isEqualTo(8);
      assertThat(r.stats().nfe()).isEqualTo(nfe);
    }
  }

  /** Threshold decoding unmasks every sure position at once; here only the leftmost is sure, then all are. */
  @Test
  void thresholdTakesEveryConfidentPosition() {
    int[] ans = answer(8);
    try (OracleModel m = new OracleModel(PROMPT.length, ans, 100, 0)) {
      // logit 5 among 32 tokens: p = e^5 / (e^5 + 31) ≈ 0.827; unsure ≈ 0.08
      DecodeResult r = decode(m, DecodeConfig.of(DecodeConfig.Method.THRESHOLD, 8, 8, 1, 0.5));
      assertThat(r.tokens()).containsExactly(ans);
      assertThat(r.stats().nfe()).isEqualTo(8);
      DecodeResult low = decode(m, DecodeConfig.of(DecodeConfig.Method.THRESHOLD, 8, 8, 1, 0.05));
      assertThat(low.stats().nfe()).isEqualTo(1);
      assertThat(low.tokens()).containsExactly(ans); // no traps: unsure guesses are right too
    }
  }

  /** A model that ranks the mask id first never stalls a row: the mask is not a prediction. */
  @ParameterizedTest
  @CsvSource({"static", "freedave", "threshold", "freedave++"})
  void maskIdIsNeverPredicted(String method) {
    int[] ans = answer(6);
    ans[2] = OracleModel.MASK;
    try (OracleModel m = new OracleModel(PROMPT.length, ans, 100, 0)) {
      DecodeResult r = decode(m, DecodeConfig.of(DecodeConfig.Method.parse(method), 6, 6, 3, 0.5));
      int[] expected = ans.clone();
      expected[2] = 0; // the best remaining logit is a tie at 0: the first index wins
      assertThat(r.tokens()).containsExactly(expected);
    }
  }

  @Test
  void badRowsGetErrorsAndTheOthersDecode() {
    int[] ans = answer(4);
    try (OracleModel m = new OracleModel(PROMPT.length, ans, 100, 0)) {
      DecodeConfig cfg = DecodeConfig.of(DecodeConfig.Method.FREEDAVE, 4, 4, 2, 0.9);
      List<DecodeRequest> reqs = new ArrayList<>();
      reqs.add(new DecodeRequest("empty", new int[0], cfg, 0));
      reqs.add(new DecodeRequest("ok", PROMPT, cfg, 0));
      reqs.add(new DecodeRequest("oov", new int[] {4, 99, 6}, cfg, 0));
      reqs.add(new DecodeRequest("long", new int[1100], cfg, 0));
      List<DecodeResult> out = new DecodeScheduler(m, 2, 8).decodeAll(reqs);
      assertThat(out).extracting(DecodeResult::id).containsExactly("empty", "ok", "oov", "long");
      assertThat(out.get(0).error()).isEqualTo("empty prompt");
      assertThat(out.get(1).error()).isNull();
      assertThat(out.get(1).tokens()).containsExactly(ans);
      assertThat(out.get(2).error()).contains("outside the vocabulary");
      assertThat(out.get(3).error()).contains("exceeds the model's context of 1024");
      assertThat(out.get(0).finishReason()).isEqualTo(DecodeResult.FinishReason.ERROR);
    }
  }
}
