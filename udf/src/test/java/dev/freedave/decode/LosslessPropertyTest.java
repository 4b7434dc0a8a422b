package dev.freedave.decode;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.freedave.model.CacheMode;
import dev.freedave.model.DiffusionLM;
import dev.freedave.model.LlamaFamilyModel;
import dev.freedave.model.ModelFamily;
import dev.freedave.testkit.TinyModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * FreeDave is token-identical to static decoding and never needs more forwards, on random tiny
 * models and random configurations, alone and batched; and with unbounded drafts its forward count
 * equals an independent count of the fewest rounds, taken from the static trajectory.
 */
class LosslessPropertyTest {
  @TempDir Path tmp;

  private static final int SEEDS = 6;

  private LlamaFamilyModel model(int seed) throws Exception {
    return model(seed, 2);
  }

  /** A tiny LLaDA (even seeds) or Dream (odd) model of {@code layers} layers. */
  private LlamaFamilyModel model(int seed, int layers) throws Exception {
    ModelFamily f = seed % 2 == 0 ? ModelFamily.LLADA : ModelFamily.DREAM;
    TinyModels.Spec spec = f == ModelFamily.LLADA ? TinyModels.Spec.llada(seed) : TinyModels.Spec.qwen2(seed);
    spec = spec.withSize(spec.vocab(), spec.hidden(), layers, spec.heads(), spec.kvHeads(), spec.ffn());
    return (LlamaFamilyModel) TinyModels.load(TinyModels.write(tmp.resolve("m" + seed + "x" + layers), spec));
  }

  static int[] prompt(Random r, int len) {
    int[] p = new int[len];
    for (int i = 0; i < len; i++) {
      p[i] = 4 + r.nextInt(60); // real tokens: no pad, EOS, mask or unk
    }
    return p;
  }

  static DecodeConfig randomConfig(Random r, DecodeConfig.Method m) {
    int block = new int[] {2, 4, 8}[r.nextInt(3)];
    int gen = block * (1 + r.nextInt(3));
    int blocks = gen / block;
    // one token per step most of the time; sometimes 2 per step (steps = gen / 2)
    int steps = block % 2 == 0 && r.nextInt(4) == 0 ? gen / 2 : gen;
    if (steps % blocks != 0) {
      steps = gen;
    }
    return new DecodeConfig(m, gen, block, steps, 1 + r.nextInt(6), 0.5, 0, r.nextBoolean());
  }

  @ParameterizedTest
  @EnumSource(CacheMode.class)
  void freeDaveMatchesStaticAloneAndBatched(CacheMode cache) throws Exception {
    int rows = 0;
    for (int seed = 0; seed < SEEDS; seed++) {
      try (LlamaFamilyModel model = model(seed)) {
        Random r = new Random(100 + seed);
        List<DecodeRequest> stat = new ArrayList<>();
        List<DecodeRequest> fd = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
          DecodeConfig cfg = randomConfig(r, DecodeConfig.Method.STATIC).withCache(cache);
          int[] p = prompt(r, 1 + r.nextInt(9));
          long rowSeed = r.nextLong();
          stat.add(new DecodeRequest("r" + i, p, cfg, rowSeed));
          fd.add(new DecodeRequest("r" + i, p, cfg.withMethod(DecodeConfig.Method.FREEDAVE), rowSeed));
        }
        List<DecodeResult> reference = new DecodeScheduler(model, 1, 64).decodeAll(stat);
        rows += assertLosslessAcrossSchedulers(model, stat, fd, reference, 2 + r.nextInt(5), "seed " + seed);
      }
    }
    assertThat(rows).isEqualTo(SEEDS * 6 * 4);
  }

  /**
   * The FreeDave rows {@code fd} decoded alone, batched, with few sequences per forward and with the
   * adaptive draft budget: each row token for token its static {@code reference}, in no more
   * forwards, its static_steps the static row's NFE; and static rows batched equal static alone.
   *
   * @return the FreeDave rows checked
   */
  static int assertLosslessAcrossSchedulers(DiffusionLM model, List<DecodeRequest> stat, List<DecodeRequest> fd,
      List<DecodeResult> reference, int batch, String context) throws Exception {
    int rows = 0;
    for (List<DecodeResult> got : List.of(new DecodeScheduler(model, 1, 64).decodeAll(fd),
        new DecodeScheduler(model, batch, 64).decodeAll(fd),
        new DecodeScheduler(model, batch, 7).decodeAll(fd),
        new DecodeScheduler(model, batch, 64, "auto").decodeAll(fd))) {
      for (int i = 0; i < fd.size(); i++) {
        DecodeResult s = reference.get(i);
        DecodeResult f = got.get(i);
        assertThat(f.error()).isNull();
        assertThat(f.tokens()).as("%s row %d %s", context, i, fd.get(i).config()).containsExactly(s.tokens());
        assertThat(f.stats().nfe()).isLessThanOrEqualTo(s.stats().nfe());
        assertThat(f.stats().staticSteps()).isEqualTo(s.stats().nfe());
        rows++;
      }
    }
    List<DecodeResult> batchedStatic = new DecodeScheduler(model, batch, 64).decodeAll(stat);
    for (int i = 0; i < stat.size(); i++) {
      assertThat(batchedStatic.get(i).tokens()).containsExactly(reference.get(i).tokens());
    }
    return rows;
  }

  /** The cache's point: fewer positions computed per token, the same forward count for static. */
  @Test
  void cachedForwardsComputeOnlyTheirQueryWindow() throws Exception {
    try (LlamaFamilyModel model = model(0)) {
      int[] p = prompt(new Random(3), 10);
      DecodeConfig none = DecodeConfig.of(DecodeConfig.Method.STATIC, 16, 4, 1, 0.5);
      long[] positions = new long[3];
      for (CacheMode c : CacheMode.values()) {
        DecodeResult r = new DecodeScheduler(model, 1, 64).decodeAll(
            List.of(new DecodeRequest("a", p, new DecodeConfig(DecodeConfig.Method.STATIC, 16, 4, 16, 1, 0.5, 0,
                false, c), 0))).get(0);
        assertThat(r.stats().nfe()).isEqualTo(16);
        positions[c.ordinal()] = r.stats().positionsComputed();
      }
      // none: 16 full forwards of 26 positions; prefix: per block one full + 3 forwards of the block and
      // after (16, 12, 8, 4); dual: per block one full + 3 forwards of the 4 block positions (LLaDA, offset 0)
      assertThat(positions[0]).isEqualTo(16 * 26);
      assertThat(positions[1]).isEqualTo(4 * 26 + 3 * (16 + 12 + 8 + 4));
      assertThat(positions[2]).isEqualTo(4 * 26 + 4 * 3 * 4);
    }
  }

  @Test
  void samplingStaysLosslessBecauseNoiseIsKeyedByState() throws Exception {
    try (LlamaFamilyModel model = model(1)) {
      Random r = new Random(5);
      for (int i = 0; i < 8; i++) {
        DecodeConfig base = randomConfig(r, DecodeConfig.Method.STATIC);
        DecodeConfig cfg = new DecodeConfig(DecodeConfig.Method.STATIC, base.genLength(), base.blockLength(),
            base.genLength(), 4, 0.5, 1.0, false);
        int[] p = prompt(r, 4);
        DecodeResult s = new DecodeScheduler(model, 1, 64).decodeAll(List.of(new DecodeRequest("a", p, cfg, i))).get(0);
        DecodeResult f = new DecodeScheduler(model, 3, 64).decodeAll(
            List.of(new DecodeRequest("a", p, cfg.withMethod(DecodeConfig.Method.FREEDAVE), i))).get(0);
        DecodeResult other = new DecodeScheduler(model, 1, 64).decodeAll(
            List.of(new DecodeRequest("a", p, cfg, i + 1000))).get(0);
        assertThat(f.tokens()).containsExactly(s.tokens());
        assertThat(f.stats().nfe()).isLessThanOrEqualTo(s.stats().nfe());
        if (i == 0) {
          DecodeResult greedy = new DecodeScheduler(model, 1, 64).decodeAll(List.of(new DecodeRequest("a", p,
              new DecodeConfig(DecodeConfig.Method.STATIC, cfg.genLength(), cfg.blockLength(), cfg.genLength(), 1,
                  0.5, 0, false), i))).get(0);
          assertThat(s.tokens()).as("temperature 1 samples, it is not greedy decoding")
              .isNotEqualTo(greedy.tokens()).isNotEqualTo(other.tokens());
        }
      }
    }
  }

  /**
   * With unbounded drafts, FreeDave's forward count equals the fewest rounds counted directly from
   * the static trajectory: from state i, one forward certifies the longest run of static steps that
   * commit, in order, P_i's canonical candidates with P_i's tokens.
   */
  @Test
  void unboundedFreeDaveIsMinimal() throws Exception {
    for (int seed = 0; seed < SEEDS; seed++) {
      try (LlamaFamilyModel model = model(seed)) {
        assertUnboundedFreeDaveIsMinimal(model, new Random(200 + seed), 1, CacheMode.NONE, "seed " + seed);
      }
    }
  }

  /**
   * With one layer a block cache is exact: a layer's keys and values are projections of its tokens'
   * embeddings, so the frozen positions' do not change while a block decodes, and cached static
   * decoding follows the cache-free trajectory. Unbounded FreeDave under the cache then takes the
   * fewest rounds counted without one: the round whose chain completes a block also fills the next,
   * its last draft forwarded as that fill (without it, every block after a completed chain cost one
   * forward more).
   */
  @ParameterizedTest
  @EnumSource(value = CacheMode.class, names = {"PREFIX", "DUAL"})
  void unboundedFreeDaveUnderAnExactCacheIsMinimal(CacheMode cache) throws Exception {
    for (int seed = 0; seed < SEEDS; seed++) {
      try (DiffusionLM model = model(seed, 1)) {
        assertUnboundedFreeDaveIsMinimal(model, new Random(300 + seed), 2, cache, "seed " + seed);
      }
    }
  }

  /** Four random rows of at least {@code minBlocks} blocks, each decoded alone with unbounded drafts. */
  private static void assertUnboundedFreeDaveIsMinimal(DiffusionLM model, Random r, int minBlocks, CacheMode cache,
      String context) {
    for (int i = 0; i < 4; i++) {
      int block = new int[] {4, 8}[r.nextInt(2)];
      int gen = block * (minBlocks + r.nextInt(2));
      int[] p = prompt(r, 1 + r.nextInt(6));
      DecodeConfig cfg = new DecodeConfig(DecodeConfig.Method.FREEDAVE, gen, block, gen, gen, 0.5, 0, false, cache);
      DecodeResult f = new DecodeScheduler(model, 1, 1000).decodeAll(List.of(new DecodeRequest("x", p, cfg, 0)))
          .get(0);
      Trajectory t = Trajectory.staticOf(model, p, gen, block);
      assertThat(f.tokens()).as("%s case %d", context, i).containsExactly(t.finalTokens());
      assertThat(f.stats().nfe()).as("%s case %d", context, i).isEqualTo(t.fewestForwards());
    }
  }

  /**
   * An independent static decoder on full logits (its own argmax, softmax and ordering), recording
   * each step's prediction, and the brute-force round count over it. For a block-causal model its
   * blocks sit at absolute multiples of the block length (the first one led by {@code lead} prompt
   * tokens) and its logits are the block-causal forward's.
   */
  record Trajectory(int promptLength, int gen, int block, int lead, List<int[]> states, List<int[]> orders,
      List<int[]> x0s) {

    static Trajectory staticOf(DiffusionLM model, int[] prompt, int genLength, int block) {
      boolean causal = model.spec().blockCausal();
      int mask = model.spec().maskTokenId();
      int off = model.spec().predictionOffset();
      int vocab = model.spec().vocabSize();
      int lead = causal ? prompt.length % block : 0;
      int gen = genLength + (lead == 0 ? 0 : block - lead);
      int[] s = new int[prompt.length + gen];
      System.arraycopy(prompt, 0, s, 0, prompt.length);
      java.util.Arrays.fill(s, prompt.length, s.length, mask);
      List<int[]> states = new ArrayList<>();
      List<int[]> orders = new ArrayList<>();
      List<int[]> x0s = new ArrayList<>();
      for (int step = 0; step < gen; step++) {
        states.add(s.clone());
        float[] logits;
        try (NDManager m = model.newScope()) {
          long[] ids = java.util.Arrays.stream(s).asLongStream().toArray();
          NDArray in = m.create(ids, new Shape(1, s.length));
          logits = (causal ? model.logitsBlockCausal(in, null, null, block) : model.logits(in, null, null))
              .toFloatArray();
        }
        int b = (step + lead) / block;
        int[] x0 = new int[gen];
        double[] conf = new double[gen];
        List<Integer> cands = new ArrayList<>();
        for (int j = Math.max(0, b * block - lead); j < (b + 1) * block - lead; j++) {
          if (s[prompt.length + j] != mask) {
            continue;
          }
          int row = (prompt.length + j - off) * vocab;
          int arg = mask == 0 ? 1 : 0;
          for (int v = 0; v < vocab; v++) {
            if (v != mask && logits[row + v] > logits[row + arg]) {
              arg = v;
            }
          }
          double sum = 0;
          for (int v = 0; v < vocab; v++) {
            sum += v == mask ? 0 : Math.exp((double) logits[row + v] - logits[row + arg]);
          }
          x0[j] = arg;
          conf[j] = 1 / sum;
          cands.add(j);
        }
        cands.sort(Comparator.<Integer>comparingDouble(j -> -conf[j]).thenComparingInt(j -> j));
        orders.add(cands.stream().mapToInt(Integer::intValue).toArray());
        x0s.add(x0);
        s[prompt.length + cands.get(0)] = x0[cands.get(0)];
      }
      states.add(s.clone());
      return new Trajectory(prompt.length, gen, block, lead, states, orders, x0s);
    }

    int[] finalTokens() {
      int[] last = states.get(states.size() - 1);
      return java.util.Arrays.copyOfRange(last, promptLength, last.length);
    }

    /** Position committed by static step i. */
    int committed(int i) {
      for (int j = 0; j < gen; j++) {
        if (states.get(i)[promptLength + j] != states.get(i + 1)[promptLength + j]) {
          return j;
        }
      }
      throw new IllegalStateException("step " + i + " committed nothing");
    }

    int fewestForwards() {
      int forwards = 1; // predict(f(s_0))
      int i = 0;
      while (i < gen) {
        int blockEnd = ((i + lead) / block + 1) * block - lead; // one step per position: step i sits in its block
        int m = 1;
        while (i + m < blockEnd && committed(i + m) == orders.get(i)[m]
            && states.get(i + m + 1)[promptLength + orders.get(i)[m]] == x0s.get(i)[orders.get(i)[m]]) {
          m++;
        }
        // the round's forward is skipped only when its one draft is the final state
        if (!(blockEnd - i == 1 && i + 1 == gen)) {
          forwards++;
        }
        i += m;
      }
      return forwards;
    }
  }
}
