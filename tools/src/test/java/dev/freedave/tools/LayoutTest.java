package dev.freedave.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The module layout: tools → job → udf and never back, executor code without test fixtures, and a
 * spark-submit jar that carries the job and the executor code only.
 */
class LayoutTest {
  private static final Path ROOT = Path.of("..");

  /** "file: import line" for every import of {@code packages} in the Java sources under {@code dir}. */
  private static List<String> imports(String dir, String... packages) throws IOException {
    List<String> found = new ArrayList<>();
    try (Stream<Path> files = Files.walk(ROOT.resolve(dir))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        for (String line : Files.readAllLines(f)) {
          for (String p : packages) {
            if (line.startsWith("import " + p + ".") || line.startsWith("import static " + p + ".")) {
              found.add(ROOT.relativize(f) + ": " + line);
            }
          }
        }
      }
    }
    return found;
  }

  @Test
  void dependenciesPointOneWay() throws IOException {
    assertThat(imports("udf/src/main/java", "dev.freedave.job", "dev.freedave.tools", "dev.freedave.testkit"))
        .isEmpty();
    assertThat(imports("udf/src/test/java", "dev.freedave.job", "dev.freedave.tools")).isEmpty();
    assertThat(imports("job/src/main/java", "dev.freedave.tools", "dev.freedave.testkit")).isEmpty();
    assertThat(imports("tools/src/main/java", "dev.freedave.testkit")).isEmpty();
  }

  @Test
  void theSparkSubmitJarHoldsNoToolTrainerOrFixture() throws IOException {
    Path jar;
    try (Stream<Path> s = Files.list(ROOT.resolve("job/target"))) {
      jar = s.filter(p -> p.getFileName().toString().endsWith("-spark.jar")).findFirst().orElseThrow();
    }
    List<String> ours = new ArrayList<>();
    try (JarFile j = new JarFile(jar.toFile())) {
      j.stream().map(e -> e.getName()).filter(n -> n.startsWith("dev/freedave/") && n.endsWith(".class"))
          .forEach(ours::add);
    }
    assertThat(ours).isNotEmpty().anyMatch(n -> n.startsWith("dev/freedave/job/"))
        .anyMatch(n -> n.startsWith("dev/freedave/spark/"))
        .allMatch(n -> n.matches("dev/freedave/(job|spark|generate|decode|model|text)/[^/]+\\.class"))
        .noneMatch(n -> n.contains("Trainer") || n.contains("Bench") || n.contains("TinyModel")
            || n.contains("Oracle"));
  }
}
