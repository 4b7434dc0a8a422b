package dev.freedave.decode;

import static org.assertj.core.api.Assertions.assertThat;

import dev.freedave.model.CacheMode;
import dev.freedave.model.LlamaFamilyModel;
import dev.freedave.testkit.OracleModel;
import dev.freedave.testkit.TinyModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Block-causal models (SDAR): FreeDave token-identical to static decoding with and without the
 * exact cache, alone and batched over ragged rows, blocks of 4 and 8; static takes one forward per
 * decoded position, the cache's commits included; unbounded FreeDave takes the fewest rounds.
 */
class BlockCausalDecodingTest {
  @TempDir Path tmp;

  private static final int SEEDS = 4;

  private LlamaFamilyModel model(int seed) throws Exception {
    TinyModels.Spec spec = seed % 2 == 0 ? TinyModels.Spec.sdar(seed) : TinyModels.Spec.sdar(seed).withTiedHead();
    return (LlamaFamilyModel) TinyModels.load(TinyModels.write(tmp.resolve("m" + seed), spec));
  }

  static DecodeConfig randomConfig(Random r, CacheMode cache) {
    int block = r.nextBoolean() ? 4 : 8;
    int gen = block * (1 + r.nextInt(3));
    return new DecodeConfig(DecodeConfig.Method.STATIC, gen, block, gen, 1 + r.nextInt(6), 0.5, 0, r.nextBoolean(),
        cache);
  }

  @ParameterizedTest
  @EnumSource(value = CacheMode.class, names = {"NONE", "PREFIX"})
  void freeDaveMatchesStaticAloneAndBatched(CacheMode cache) throws Exception {
    int rows = 0;
    for (int seed = 0; seed < SEEDS; seed++) {
      try (LlamaFamilyModel model = model(seed)) {
        Random r = new Random(300 + seed);
        List<DecodeRequest> stat = new ArrayList<>();
        List<DecodeRequest> fd = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
          DecodeConfig cfg = randomConfig(r, cache);
          int[] p = LosslessPropertyTest.prompt(r, 1 + r.nextInt(9)); // ragged: leading blocks of every size
          stat.add(new DecodeRequest("r" + i, p, cfg, i));
          fd.add(new DecodeRequest("r" + i, p, cfg.withMethod(DecodeConfig.Method.FREEDAVE), i));
        }
        List<DecodeResult> reference = new DecodeScheduler(model, 1, 64).decodeAll(stat);
        for (int i = 0; i < stat.size(); i++) {
          DecodeResult s = reference.get(i);
          int lead = stat.get(i).prompt().length % stat.get(i).config().blockLength();
          int decodable = stat.get(i).config().genLength() + (lead == 0 ? 0 : stat.get(i).config().blockLength() - lead);
          assertThat(s.error()).isNull();
          assertThat(s.tokens()).hasSize(decodable); // up to the block boundary after prompt + gen_length
          if (s.stats().tokensDecoded() == decodable) { // no early exit: one forward per position
            assertThat(s.stats().nfe()).isEqualTo(decodable);
          }
        }
        rows += LosslessPropertyTest.assertLosslessAcrossSchedulers(model, stat, fd, reference, 2 + r.nextInt(5),
            "seed " + seed);
      }
    }
    assertThat(rows).isEqualTo(SEEDS * 6 * 4);
  }

  /** The exact cache changes what a forward computes, not what it decides or how many there are. */
  @Test
  void theExactCacheGivesTheSameTokensAndForwardsAndComputesLess() throws Exception {
    try (LlamaFamilyModel model = model(0)) {
      int[] p = LosslessPropertyTest.prompt(new Random(7), 6);
      DecodeConfig none = new DecodeConfig(DecodeConfig.Method.STATIC, 16, 4, 16, 1, 0.5, 0, false, CacheMode.NONE);
      DecodeResult a = new DecodeScheduler(model, 1, 64).decodeAll(List.of(new DecodeRequest("a", p, none, 0))).get(0);
      DecodeResult b = new DecodeScheduler(model, 1, 64).decodeAll(
          List.of(new DecodeRequest("a", p, none.withCache(CacheMode.PREFIX), 0))).get(0);
      assertThat(b.tokens()).containsExactly(a.tokens());
      // prompt 6, block 4: blocks [4,8) (2 to decode) [8,12) [12,16) [16,20) [20,24): 18 positions
      assertThat(a.stats().nfe()).isEqualTo(18).isEqualTo(b.stats().nfe());
      // none feeds every row up to its block's end: 2 x 8, then 4 x 12, 4 x 16, 4 x 20, 4 x 24
      assertThat(a.stats().positionsComputed()).isEqualTo(2 * 8 + 4 * (12 + 16 + 20 + 24));
      // the cache: a fill of 8 and a read of the leading block (4), then per block a first forward over
      // the finished block and the new one (8, appending the finished one) and three reads of the block (4)
      assertThat(b.stats().positionsComputed()).isEqualTo(8 + 4 + 4 * (8 + 3 * 4));
    }
  }

  @Test
  void unboundedFreeDaveIsMinimal() throws Exception {
    for (int seed = 0; seed < SEEDS; seed++) {
      try (LlamaFamilyModel model = model(seed)) {
        Random r = new Random(400 + seed);
        for (int i = 0; i < 4; i++) {
          int block = r.nextBoolean() ? 4 : 8;
          int gen = block * (1 + r.nextInt(2));
          int[] p = LosslessPropertyTest.prompt(r, 1 + r.nextInt(9));
          DecodeConfig cfg = new DecodeConfig(DecodeConfig.Method.FREEDAVE, gen, block, gen, 2 * gen, 0.5, 0, false);
          DecodeResult f = new DecodeScheduler(model, 1, 1000).decodeAll(List.of(new DecodeRequest("x", p, cfg, 0)))
              .get(0);
          LosslessPropertyTest.Trajectory t = LosslessPropertyTest.Trajectory.staticOf(model, p, gen, block);
          assertThat(f.tokens()).containsExactly(t.finalTokens());
          assertThat(f.stats().nfe()).as("seed %d case %d", seed, i).isEqualTo(t.fewestForwards());
        }
      }
    }
  }

  /**
   * The oracle as a block model, prompt 3, block 4, gen 8: blocks of 1, 4 and 4 positions, no traps,
   * K = 2. Initial forward; block 0's one position (its draft forwarded, as no cache means the draft
   * completing a block is worth verifying); block 1 in two rounds of 2; block 2 in two rounds, the last
   * forwarding only the draft before the final state. 1 + 1 + 2 + 2 = 6 forwards for 9 tokens.
   */
  @Test
  void theOracleCountsAsWorkedOutByHand() {
    int[] ans = OracleDecodingTest.answer(9);
    try (OracleModel m = OracleModel.blockCausal(3, ans, 100)) {
      DecodeConfig fd = DecodeConfig.of(DecodeConfig.Method.FREEDAVE, 8, 4, 2, 0.9);
      DecodeResult f = new DecodeScheduler(m, 4, 64).decodeAll(List.of(new DecodeRequest("r", new int[] {4, 5, 6}, fd,
          0))).get(0);
      DecodeResult s = new DecodeScheduler(m, 4, 64).decodeAll(List.of(new DecodeRequest("r", new int[] {4, 5, 6},
          fd.withMethod(DecodeConfig.Method.STATIC), 0))).get(0);
      assertThat(s.tokens()).containsExactly(ans);
      assertThat(s.stats().nfe()).isEqualTo(9);
      assertThat(f.tokens()).containsExactly(ans);
      assertThat(f.stats().nfe()).isEqualTo(6);
      assertThat(f.stats().staticSteps()).isEqualTo(9);
    }
  }

  @Test
  void configsABlockModelCannotDecodeAreRowErrors() throws Exception {
    try (LlamaFamilyModel model = model(1)) {
      int[] p = {5, 6, 7};
      List<DecodeResult> out = new DecodeScheduler(model, 2, 64).decodeAll(List.of(
          new DecodeRequest("steps", p, new DecodeConfig(DecodeConfig.Method.STATIC, 8, 4, 4, 1, 0.5, 0, true), 0),
          new DecodeRequest("dual", p, DecodeConfig.of(DecodeConfig.Method.STATIC, 8, 4, 1, 0.5)
              .withCache(CacheMode.DUAL), 0)));
      assertThat(out.get(0).error()).contains("one token per step");
      assertThat(out.get(1).error()).contains("use cache = prefix");
    }
  }
}
