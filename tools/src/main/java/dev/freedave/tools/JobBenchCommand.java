package dev.freedave.tools;

import ai.djl.Device;
import com.google.gson.Gson;
import dev.freedave.decode.DecodeConfig;
import dev.freedave.decode.DecodeScheduler;
import dev.freedave.generate.GenerateSettings;
import dev.freedave.generate.InputRow;
import dev.freedave.generate.OutputRow;
import dev.freedave.generate.PartitionGenerator;
import dev.freedave.job.GenerateJob;
import dev.freedave.job.JobConfig;
import dev.freedave.job.RunSummary;
import dev.freedave.model.ComputeDtype;
import dev.freedave.model.DefaultModel;
import dev.freedave.model.LoadedModel;
import dev.freedave.model.ModelFolder;
import dev.freedave.text.ChatTemplate;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The Spark job's overhead: the same rows through the bare decoder loop (no Spark) and through the
 * generate job on local[N], in one process; prints rows/s of both and their ratio.
 */
@Command(name = "bench-job", mixinStandardHelpOptions = true, description = "Rows/s of the Spark job vs the bare decoder loop on the same rows")
final class JobBenchCommand implements Callable<Integer> {
  @Option(names = "--model", defaultValue = DefaultModel.NAME) String model;

  @Option(names = "--rows", defaultValue = "128", description = "rows (the bundled prompts, repeated)") int rows;

  @Option(names = "--master", defaultValue = "local[2]") String master;

  @Option(names = "--decoder", defaultValue = "freedave") String decoder;

  @Option(names = "--draft-steps", defaultValue = "8") int k;

  @Option(names = "--gen-length", defaultValue = "64") int gen;

  @Option(names = "--block-length", defaultValue = "16") int block;

  @Option(names = "--rows-in-flight", defaultValue = "8") int rowsInFlight;

  @Override
  public Integer call() throws Exception {
    List<PromptFile.Prompt> samples = PromptFile.samples();
    List<InputRow> input = new ArrayList<>();
    List<String> lines = new ArrayList<>();
    Gson gson = new Gson();
    for (int i = 0; i < rows; i++) {
      PromptFile.Prompt p = samples.get(i % samples.size());
      input.add(new InputRow("r" + i, p.text(), p.answer(), null, null));
      lines.add(gson.toJson(Map.of("id", "r" + i, "prompt", p.text(), "answer", p.answer())));
    }
    DecodeConfig cfg = DecodeConfig.of(DecodeConfig.Method.parse(decoder), gen, block, k, 0.9);
    GenerateSettings settings = new GenerateSettings(model, ComputeDtype.FLOAT32, "auto", "bench", "",
        ChatTemplate.NONE, false, rowsInFlight, 64, "auto");

    // the bare loop: one scheduler over every row, in this JVM, no Spark
    LoadedModel loaded = ModelFolder.open(DefaultModel.resolve(model)).load(ComputeDtype.FLOAT32, Device.cpu());
    PartitionGenerator gen0 = new PartitionGenerator(settings, loaded);
    long[] forwards = {0};
    PartitionGenerator.Progress countForwards = new PartitionGenerator.Progress() {
      @Override
      public void forward(DecodeScheduler.ForwardEvent e) {
        forwards[0]++;
      }
    };
    gen0.run(input.subList(0, Math.min(8, rows)), cfg, countForwards); // warm-up
    forwards[0] = 0;
    long t0 = System.nanoTime();
    List<OutputRow> bare = gen0.run(input, cfg, countForwards);
    double bareS = (System.nanoTime() - t0) / 1e9;

    Path dir = Files.createTempDirectory("freedave-bench-job");
    Path in = dir.resolve("prompts.jsonl");
    Files.write(in, lines, StandardCharsets.UTF_8);
    long s0 = System.nanoTime();
    SparkSession spark = SparkSession.builder().master(master).appName("freedave-bench-job")
        .config("spark.ui.enabled", "false").getOrCreate();
    double sessionS = (System.nanoTime() - s0) / 1e9;
    double jobS;
    RunSummary summary;
    try {
      Map<String, String> o = new LinkedHashMap<>();
      o.put("model.dir", model);
      o.put("input.path", in.toString());
      o.put("output.path", dir.resolve("out").toString());
      o.put("progress-interval-s", "0");
      o.put("batching.max-rows-in-flight", Integer.toString(rowsInFlight));
      o.put("decoders", String.format(Locale.ROOT, "[{decoder = \"%s\", draft-steps = %d, block-length = %d,"
          + " gen-length = %d}]", decoder, k, block, gen));
      long j0 = System.nanoTime();
      summary = GenerateJob.run(spark, JobConfig.load(null, o), GenerateJob.CommitListener.NONE);
      jobS = (System.nanoTime() - j0) / 1e9;
    } finally {
      spark.stop();
    }
    double bareRate = bare.size() / bareS;
    double jobRate = rows / jobS;
    System.out.printf(Locale.ROOT, "rows=%d config=%s%n", rows, cfg.label());
    System.out.printf(Locale.ROOT, "bare decoder loop   : %.2f s  %.2f rows/s (1 scheduler, %d rows in flight)%n",
        bareS, bareRate, rowsInFlight);
    System.out.printf(Locale.ROOT, "spark job %-10s: %.2f s  %.2f rows/s (read, repartition, decode, Parquet write,"
        + " summary; session start %.2f s not included)%n", master, jobS, jobRate, sessionS);
    System.out.println(gson.toJson(Map.of("rows", rows, "bare_rows_per_s", bareRate, "job_rows_per_s", jobRate,
        "job_over_bare", jobRate / bareRate, "session_start_s", sessionS, "job_errors", summary.errors(),
        "bare_forward_calls", forwards[0], "job_forward_calls", summary.forwardCalls())));
    return 0;
  }
}
