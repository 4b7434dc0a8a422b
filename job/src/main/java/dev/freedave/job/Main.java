package dev.freedave.job;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code freedave} command line: one subcommand per tool; {@code submit-scripts/freedave} runs it. */
@Command(
    name = "freedave",
    mixinStandardHelpOptions = true,
    version = "freedave 0.1.0",
    description = "Lossless parallel decoding of diffusion language models.",
    subcommands = {GenerateCommand.class, BenchCommand.class, JobBenchCommand.class, DemoDataCommand.class,
        TrainDemoCommand.class,
        LogitsCommand.class,
        TinyModelCommand.class,
        LatencyCommand.class,
        LoadBenchCommand.class})
public final class Main {
  public static void main(String[] args) {
    System.exit(new CommandLine(new Main()).execute(args));
  }
}
