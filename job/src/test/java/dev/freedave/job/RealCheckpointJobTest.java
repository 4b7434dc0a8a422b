package dev.freedave.job;

import static org.assertj.core.api.Assertions.assertThat;

import dev.freedave.testkit.Fixtures;
import dev.freedave.testkit.TinyModels;
import dev.freedave.text.ChatTemplate;
import dev.freedave.text.TextCodec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The job on tiny random checkpoints that carry the real models' ids and tokenizer formats: LLaDA-8B
 * (vocabulary 126464, mask 126336, EOS 126081, EOT 126348, tokenizer.json, LLaDA chat template),
 * Dream-7B (vocabulary 152064, mask 151666, <|im_end|> 151645, prediction offset 1, vocab.json +
 * merges.txt only, ChatML) and SDAR-8B-Chat (vocabulary 151936, <|MASK|> 151669 and EOS <|im_end|>
 * named only by tokenizer_config.json / special_tokens_map.json, block-causal, blocks of 4, the exact
 * cache, Qwen3 ChatML). End tokens are made likely (TinyModels.writeLike), so answers stop at them.
 */
class RealCheckpointJobTest {
  static SparkSession spark;
  @TempDir static Path tmp;

  /** What a family's folder must decode with, and the ids its rows must show. */
  record Case(String template, int block, String cache, int mask, int eos, int endOfTurn, int first,
      Map<Integer, Integer> specials, long seed, float endBoost) {
    static Case of(TinyModels.RealFamily f) {
      return switch (f) {
        case LLADA_8B -> new Case("llada", 16, "none", 126336, 126081, 126348, 126080,
            Map.of(126080, 1, 126346, 2, 126347, 2, 126348, 1), 3, 10);
        case DREAM_7B -> new Case("chatml", 16, "none", 151666, 151643, 151645, 151644, Map.of(151644, 3, 151645, 2),
            3, 2.5f);
        case SDAR_8B -> new Case("qwen3", 4, "prefix", 151669, 151643, 151645, 151644, Map.of(151644, 2, 151645, 1),
            8, 10);
      };
    }
  }

  @BeforeAll
  static void setUp() {
    spark = JobFixtures.localSpark("real-ids");
  }

  @AfterAll
  static void tearDown() {
    spark.stop();
  }

  @ParameterizedTest
  @EnumSource(TinyModels.RealFamily.class)
  void specialTokensTemplatesAndEndTokensEndToEnd(TinyModels.RealFamily family) throws Exception {
    Case c = Case.of(family);
    Path dir = tmp.resolve(family.name());
    Path model = TinyModels.writeLike(dir.resolve("model"), family, c.seed(), c.endBoost());
    ChatTemplate template = ChatTemplate.parse(c.template());
    List<String> prompts = List.of("hello world", " what is the answer ", "the sum of 3 and 4",
        "so what is it", "number 42\nand 7", "hello");
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < prompts.size(); i++) {
      lines.add("{\"id\": \"p" + i + "\", \"prompt\": " + new com.google.gson.Gson().toJson(prompts.get(i)) + "}");
    }
    Path input = Files.write(dir.resolve("prompts.jsonl"), lines, StandardCharsets.UTF_8);
    Path out = dir.resolve("out");
    Map<String, String> o = new LinkedHashMap<>();
    o.put("model.dir", model.toString());
    o.put("input.path", input.toString());
    o.put("input.chat-template", c.template());
    o.put("output.path", out.toString());
    o.put("partitions", "2");
    o.put("audit-static", "true");
    o.put("progress-interval-s", "0");
    String shape = "block-length = " + c.block() + ", gen-length = 32, cache = " + c.cache();
    o.put("decoders", "[{decoder = static, " + shape + "}, {decoder = freedave, draft-steps = 4, " + shape + "}]");
    RunSummary s = GenerateJob.run(spark, JobConfig.load(null, o), GenerateJob.CommitListener.NONE);
    assertThat(s.errors()).isZero();
    assertThat(s.configs()).allSatisfy(cfg -> assertThat(cfg.get("exact_match")).isEqualTo(1.0));

    boolean blockCausal = family.family.blockCausal;
    List<Row> rows = spark.read().parquet(out.toString()).collectAsList();
    assertThat(rows).hasSize(2 * prompts.size());
    int stoppedAtEndOfTurn = 0;
    try (TextCodec codec = TextCodec.load(model)) {
      for (Row r : rows) {
        String prompt = r.getAs("prompt");
        int[] templated = codec.encode(template.apply(prompt));
        assertThat((int) r.getAs("prompt_tokens")).isEqualTo(templated.length);
        // the template's specials are single ids, as many as the template writes
        c.specials().forEach((id, n) -> assertThat(java.util.Arrays.stream(templated).filter(t -> t == id).count())
            .as("occurrences of %d", id).isEqualTo((long) n));
        assertThat(templated[0]).isEqualTo(c.first());
        int[] tokens = toInts(r.getList(r.fieldIndex("completion_token_ids")));
        // a block-causal model decodes on to the block boundary after prompt + gen_length
        int lead = blockCausal ? templated.length % c.block() : 0;
        assertThat(tokens).hasSize(32 + (lead == 0 ? 0 : c.block() - lead)).doesNotContain(c.mask());
        int firstEnd = 0;
        while (firstEnd < tokens.length && !Set.of(c.eos(), c.endOfTurn()).contains(tokens[firstEnd])) {
          firstEnd++;
        }
        assertThat((int) r.getAs("gen_tokens")).as("answer stops at the first EOS or end-of-turn").isEqualTo(firstEnd);
        assertThat((String) r.getAs("completion")).isEqualTo(codec.decode(java.util.Arrays.copyOf(tokens, firstEnd)));
        assertThat((Boolean) r.getAs("match_static")).isTrue();
        if (firstEnd < tokens.length && tokens[firstEnd] == c.endOfTurn()) {
          stoppedAtEndOfTurn++;
        }
      }
    }
    assertThat(stoppedAtEndOfTurn).as("rows whose answer ends at the end-of-turn token").isPositive();
  }

  /** A TorchScript export (fixture made with torch 2.11) as the job's model folder, with a tokenizer beside it. */
  @org.junit.jupiter.api.Test
  void aTorchScriptFolderRunsThroughTheJobAndRefusesACache() throws Exception {
    Path dir = tmp.resolve("ts");
    Path model = Files.createDirectories(dir.resolve("model"));
    Path fixture = Fixtures.folder("torchscript/llada", dir);
    for (String f : List.of("model.pt", "freedave-torchscript.json")) {
      Files.copy(fixture.resolve(f), model.resolve(f));
    }
    // the fixture's vocabulary (64, EOS 1, mask 2) is the tiny models' one: borrow their tokenizer
    Path words = TinyModels.write(dir.resolve("words"), TinyModels.Spec.llada(1));
    Files.copy(words.resolve("tokenizer.json"), model.resolve("tokenizer.json"));
    Path input = Files.write(dir.resolve("p.jsonl"), List.of("{\"id\": \"a\", \"prompt\": \"what is 3 + 4 ?\"}",
        "{\"id\": \"b\", \"prompt\": \"the sum of 1 and 2\"}"), StandardCharsets.UTF_8);
    Map<String, String> o = new LinkedHashMap<>();
    o.put("model.dir", model.toString());
    o.put("input.path", input.toString());
    o.put("output.path", dir.resolve("out").toString());
    o.put("audit-static", "true");
    o.put("progress-interval-s", "0");
    o.put("decoders", "[{decoder = freedave, draft-steps = 4, block-length = 8, gen-length = 16}]");
    RunSummary s = GenerateJob.run(spark, JobConfig.load(null, o), GenerateJob.CommitListener.NONE);
    assertThat(s.errors()).isZero();
    assertThat(spark.read().parquet(dir.resolve("out").toString()).where("match_static = true").count()).isEqualTo(2);

    o.put("output.path", dir.resolve("out-cache").toString());
    o.put("decoders", "[{decoder = freedave, draft-steps = 4, block-length = 8, gen-length = 16, cache = dual}]");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> GenerateJob.run(spark, JobConfig.load(null, o),
        GenerateJob.CommitListener.NONE))
        .hasMessageContaining("TorchScript model has no block cache");
    assertThat(dir.resolve("out-cache")).doesNotExist();
  }

  private static int[] toInts(List<Object> l) {
    return l.stream().mapToInt(x -> (Integer) x).toArray();
  }
}
