package dev.freedave.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Every example in conf/ parses into a valid job config (decoder parameters checked). */
class ExampleConfigsTest {
  @Test
  void everyExampleConfigLoads() throws Exception {
    List<Path> confs;
    try (Stream<Path> s = Files.list(Path.of("..", "conf"))) {
      confs = s.filter(p -> p.toString().endsWith(".conf")).sorted().toList();
    }
    assertThat(confs).extracting(p -> p.getFileName().toString())
        .contains("local-demo.conf", "sweep.conf", "llada-8b-instruct.conf", "dream-7b-instruct.conf", "eval-demo.conf",
            "sdar-8b-chat.conf");
    for (Path c : confs) {
      JobConfig cfg = JobConfig.load(c, Map.of("output.path", "/tmp/unused"));
      assertThat(cfg.decoders()).as(c.toString()).isNotEmpty();
    }
    JobConfig eval = JobConfig.load(Path.of("..", "conf", "eval-demo.conf"), Map.of("output.path", "/tmp/unused"));
    assertThat(eval.decoders()).hasSize(7);
    assertThat(eval.auditStatic()).isTrue();
    assertThat(Path.of("..", eval.inputPath())).exists();
  }
}
