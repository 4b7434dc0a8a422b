package dev.freedave.job;

import dev.freedave.model.DjlOffline;
import picocli.CommandLine;

/** The spark-submit entry point: {@code spark-submit --class dev.freedave.job.Main JAR --config ... --output ...}. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    DjlOffline.apply(); // before anything touches DJL
    System.exit(new CommandLine(new GenerateCommand()).execute(args));
  }
}
