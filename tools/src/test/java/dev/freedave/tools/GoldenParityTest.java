package dev.freedave.tools;

import static org.assertj.core.api.Assertions.assertThat;

import dev.freedave.testkit.Fixtures;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/**
 * The product's forward pass, through the {@code logits} command, against logits other
 * implementations computed on the same weights and ids: Hugging Face transformers 5.17 (Llama and
 * Qwen2 code with a bidirectional mask; notebooks/golden_parity.py), the SDAR reference modeling with
 * a block-causal mask (notebooks/sdar_golden.py) and TorchScript exports run in Python
 * (notebooks/real_checkpoint_fixtures.py), all made with torch 2.11.
 */
class GoldenParityTest {
  @TempDir Path tmp;

  private float[] logits(Path model, Path ids, Path mask, String... extra) throws Exception {
    Path out = tmp.resolve("out-" + System.nanoTime() + ".npy");
    List<String> args = new ArrayList<>(List.of("--model", model.toString(), "--ids", ids.toString(), "--out",
        out.toString()));
    if (mask != null) {
      args.addAll(List.of("--mask", mask.toString()));
    }
    args.addAll(List.of(extra));
    assertThat(new CommandLine(new LogitsCommand()).execute(args.toArray(String[]::new))).isZero();
    return Npy.read(out).floats();
  }

  @ParameterizedTest
  @CsvSource({
      "golden/llada, ids, '', logits", // LLaDA naming vs transformers' Llama
      "golden/llada, padded_ids, padded_mask, padded_logits", // a left-padded row, key-padding mask, every position
      "golden/qwen2, ids, '', logits", // Qwen2 naming, GQA (3 groups), q/k/v bias, theta 1e6
      "torchscript/llada, ids, mask, logits", // an exported module through DJL vs the same module run in Python
      "torchscript/dream, ids, mask, logits"})
  void matchesTheReferenceTo1e4(String fixture, String ids, String mask, String logits) throws Exception {
    Path dir = Fixtures.folder(fixture, tmp);
    float[] expected = Npy.read(dir.resolve(logits + ".npy")).floats();
    Path maskFile = mask.isEmpty() ? null : dir.resolve(mask + ".npy");
    float[] actual = logits(dir, dir.resolve(ids + ".npy"), maskFile);
    assertThat(Fixtures.maxAbsDiff(actual, expected)).isLessThan(1e-4f);
  }

  /**
   * SDAR (block diffusion, Qwen3 body: GQA, q/k norms; untied and tied head) against the reference
   * modeling_sdar.py run with the block-causal mask of its authors' decoders over a prompt block and
   * two blocks of 4 (notebooks/sdar_golden.py); bidirectional attention over the same ids must not match.
   */
  @ParameterizedTest
  @CsvSource({"golden/sdar-untied", "golden/sdar-tied"})
  void aBlockModelMatchesItsReferenceModelingTo1e4(String fixture) throws Exception {
    Path dir = Fixtures.folder(fixture, tmp);
    float[] expected = Npy.read(dir.resolve("logits.npy")).floats();
    assertThat(Fixtures.maxAbsDiff(logits(dir, dir.resolve("ids.npy"), null, "--block-length", "4"), expected))
        .isLessThan(1e-4f);
    assertThat(Fixtures.maxAbsDiff(logits(dir, dir.resolve("ids.npy"), null), expected)).isGreaterThan(1e-2f);
  }

  @ParameterizedTest
  @CsvSource({"golden/llada", "golden/qwen2"})
  void fp16WeightsStayCloseToFp32(String fixture) throws Exception {
    Path dir = Fixtures.folder(fixture, tmp);
    float[] expected = Npy.read(dir.resolve("logits.npy")).floats();
    float[] actual = logits(dir, dir.resolve("ids.npy"), null, "--dtype", "float16");
    float scale = 0;
    for (float v : expected) {
      scale = Math.max(scale, Math.abs(v));
    }
    // fp16 keeps ~3 decimal digits
    assertThat(Fixtures.maxAbsDiff(actual, expected)).isLessThan(2e-2f * scale).isGreaterThan(0f);
  }
}
