package dev.freedave.job;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Headless Chromium (Debian's {@code chromium}; .ci/run installs it when missing, FREEDAVE_CHROMIUM
 * names another binary): the DOM a real browser builds from a page, and a screenshot of it. A
 * missing browser fails the test that needs it, with the way to install it.
 */
final class Chromium {
  private Chromium() {}

  static Path binary() {
    String named = System.getenv("FREEDAVE_CHROMIUM");
    if (named != null && !named.isBlank()) {
      return Path.of(named);
    }
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      for (String name : List.of("chromium", "chromium-browser", "google-chrome")) {
        Path p = Path.of(dir, name);
        if (Files.isExecutable(p)) {
          return p;
        }
      }
    }
    throw new IllegalStateException("no Chromium on PATH: install Debian's chromium (apt-get install chromium; "
        + ".ci/run does) or set FREEDAVE_CHROMIUM to a Chromium or Chrome binary");
  }

  /** The DOM after the page loaded, serialised by the browser. */
  static String dumpDom(Path page) throws IOException, InterruptedException {
    return run(page, "--dump-dom");
  }

  /** A PNG of the page in a window {@code width} x {@code height}. */
  static void screenshot(Path page, Path png, int width, int height) throws IOException, InterruptedException {
    run(page, "--screenshot=" + png.toAbsolutePath(), "--window-size=" + width + "," + height,
        "--hide-scrollbars");
  }

  private static String run(Path page, String... what) throws IOException, InterruptedException {
    Path profile = Files.createTempDirectory("chromium-profile");
    List<String> cmd = new ArrayList<>(List.of(binary().toString(), "--headless", "--no-sandbox", "--disable-gpu",
        "--no-first-run", "--disable-extensions", "--user-data-dir=" + profile));
    cmd.addAll(List.of(what));
    cmd.add(page.toUri().toString());
    Path stdout = Files.createTempFile("chromium", ".out");
    try {
      Process p = new ProcessBuilder(cmd).redirectOutput(stdout.toFile())
          .redirectError(ProcessBuilder.Redirect.DISCARD).start();
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException("chromium did not finish in 120 s: " + cmd);
      }
      if (p.exitValue() != 0) {
        throw new IllegalStateException("chromium exited " + p.exitValue() + ": " + cmd);
      }
      return Files.readString(stdout, StandardCharsets.UTF_8);
    } finally {
      Files.delete(stdout);
      try (Stream<Path> files = Files.walk(profile)) {
        files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }
}
