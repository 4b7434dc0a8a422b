package dev.freedave.tools;

import dev.freedave.job.GenerateCommand;
import dev.freedave.model.DjlOffline;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code freedave} command line that {@code submit-scripts/freedave} runs: the job and every tool. */
@Command(
    name = "freedave",
    mixinStandardHelpOptions = true,
    version = "freedave 0.1.0",
    description = "Lossless parallel decoding of diffusion language models.",
    subcommands = {GenerateCommand.class, BenchCommand.class, JobBenchCommand.class, DemoDataCommand.class,
        TrainDemoCommand.class, LogitsCommand.class, TinyModelCommand.class, ForwardCostCommand.class,
        LoadBenchCommand.class})
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    DjlOffline.apply(); // before anything touches DJL
    System.exit(new CommandLine(new Main()).execute(args));
  }
}
