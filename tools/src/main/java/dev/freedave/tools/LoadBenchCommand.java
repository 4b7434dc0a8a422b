package dev.freedave.tools;

import ai.djl.Device;
import dev.freedave.model.ComputeDtype;
import dev.freedave.model.DiffusionLM;
import dev.freedave.model.ModelFolder;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Load time and memory on a synthetic multi-GB BF16 checkpoint: the BF16 → compute-dtype
 * conversion runs slice by slice, so the Java heap stays small whatever the checkpoint size
 * (the weights live in libtorch's native memory).
 */
@Command(name = "load-bench", mixinStandardHelpOptions = true,
    description = "Load time, peak heap and peak RSS for a synthetic BF16 checkpoint of LLaDA-8B layer shapes.")
final class LoadBenchCommand implements Callable<Integer> {
  @Option(names = "--dir", required = true, description = "checkpoint folder; written first if it has no config.json")
  Path dir;

  @Option(names = "--layers", defaultValue = "6", description = "blocks of 218M parameters each (8B has 32)")
  int layers;

  @Option(names = "--shard-gb", defaultValue = "2.4", description = "shard size; above 2 GiB by default on purpose")
  double shardGb;

  @Option(names = "--dtypes", split = ",", defaultValue = "float32,float16")
  List<String> dtypes;

  @Override
  public Integer call() throws Exception {
    if (!Files.exists(dir.resolve("config.json"))) {
      long t0 = System.nanoTime();
      long bytes = SyntheticCheckpoint.write(dir, SyntheticCheckpoint.lladaShapes(layers), (long) (shardGb * 1e9));
      System.out.printf(Locale.ROOT, "wrote %s: %.2f GB BF16 in %.1f s%n", dir, bytes / 1e9,
          (System.nanoTime() - t0) / 1e9);
    }
    long fileBytes = 0;
    try (var files = Files.list(dir)) {
      for (Path p : files.filter(p -> p.toString().endsWith(".safetensors")).toList()) {
        fileBytes += Files.size(p);
        System.out.printf(Locale.ROOT, "  %s %.2f GB%n", p.getFileName(), Files.size(p) / 1e9);
      }
    }
    System.out.printf(Locale.ROOT, "checkpoint %.2f GB, max heap %.2f GB, cores %d%n", fileBytes / 1e9,
        Runtime.getRuntime().maxMemory() / 1e9, Runtime.getRuntime().availableProcessors());
    System.out.println("| compute dtype | load s | GB/s read | peak heap MB | peak RSS GB | weights in memory GB |");
    System.out.println("| --- | --- | --- | --- | --- | --- |");
    for (String d : dtypes) {
      ComputeDtype type = ComputeDtype.parse(d);
      System.gc();
      resetPeaks();
      long t0 = System.nanoTime();
      double seconds;
      double rssGb;
      try (DiffusionLM m = ModelFolder.open(dir).loadModel(type, Device.cpu())) {
        seconds = (System.nanoTime() - t0) / 1e9;
        rssGb = peakRssKb() / 1e6;
      }
      double weightsGb = fileBytes / 1e9 * (type == ComputeDtype.FLOAT32 ? 2 : 1);
      System.out.printf(Locale.ROOT, "| %s | %.1f | %.2f | %.0f | %.2f | %.2f |%n", type.label(), seconds,
          fileBytes / 1e9 / seconds, peakHeapBytes() / 1e6, rssGb, weightsGb);
    }
    return 0;
  }

  private static void resetPeaks() throws Exception {
    ManagementFactory.getMemoryPoolMXBeans().forEach(MemoryPoolMXBean::resetPeakUsage);
    Path clear = Path.of("/proc/self/clear_refs");
    if (Files.isWritable(clear)) {
      Files.writeString(clear, "5"); // resets the process's peak RSS (VmHWM)
    }
  }

  private static long peakHeapBytes() {
    long sum = 0;
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP && p.getPeakUsage() != null) {
        sum += p.getPeakUsage().getUsed();
      }
    }
    return sum;
  }

  private static long peakRssKb() throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.UTF_8)) {
      if (line.startsWith("VmHWM:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    return -1;
  }
}
