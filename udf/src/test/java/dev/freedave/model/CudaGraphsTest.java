package dev.freedave.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.freedave.testkit.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CUDA graphs are asked for by naming the capture library: a name that is not a file fails the
 * model's load before any work; on the CPU a named library is not loaded and forwards run as
 * without it. (Capture and replay themselves need a GPU: docs/results.md, "CUDA graphs", has the
 * H200 runs, where every graph is checked bit for bit against the call it was captured from.)
 */
class CudaGraphsTest {
  @TempDir Path tmp;

  @AfterEach
  void clear() {
    System.clearProperty(CudaGraphs.LIBRARY);
  }

  @Test
  void aLibraryThatIsNotAFileFailsTheLoad() throws Exception {
    Path dir = TinyModels.write(tmp.resolve("m"), TinyModels.Spec.llada(1));
    System.setProperty(CudaGraphs.LIBRARY, tmp.resolve("missing.so").toString());
    assertThatThrownBy(() -> TinyModels.load(dir)).isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("missing.so").hasMessageContaining("not a file");
  }

  @Test
  void onTheCpuANamedLibraryChangesNothing() throws Exception {
    Path dir = TinyModels.write(tmp.resolve("m"), TinyModels.Spec.llada(1));
    long[] ids = {5, 6, 7, 8, 9, 10};
    float[] without;
    try (DiffusionLM model = TinyModels.load(dir); NDManager m = model.newScope()) {
      without = model.logits(m.create(ids, new Shape(1, ids.length)), null, null).toFloatArray();
    }
    Path lib = Files.writeString(tmp.resolve("libfreedave_cuda_graphs.so"), "not loaded on the CPU");
    System.setProperty(CudaGraphs.LIBRARY, lib.toString());
    try (DiffusionLM model = TinyModels.load(dir); NDManager m = model.newScope()) {
      float[] with = model.logits(m.create(ids, new Shape(1, ids.length)), null, null).toFloatArray();
      assertThat(with).containsExactly(without);
    }
    assertThat(CudaGraphs.summary()).contains("0 made");
  }

  /**
   * notebooks/cuda_graph_probe.py builds the core from its source as the Java side does: it must set
   * exactly the attributes the source declares (a new one there breaks the probe's archive).
   */
  @Test
  void theGraphProbeSetsTheAttributesTheCoreDeclares() throws Exception {
    Set<String> declared = new TreeSet<>();
    Matcher d = Pattern.compile("(?m)^  (\\w+) : ").matcher(TransformerCore.source());
    while (d.find()) {
      declared.add(d.group(1));
    }
    declared.removeAll(Set.of("training", "_is_full_backward_hook"));
    String probe = Files.readString(Path.of("..", "notebooks", "cuda_graph_probe.py"));
    Matcher dict = Pattern.compile("(?s)attrs = \\{(.*?)\\}").matcher(probe);
    assertThat(dict.find()).as("the probe's attrs dict").isTrue();
    Set<String> set = new TreeSet<>();
    Matcher k = Pattern.compile("\"(\\w+)\":").matcher(dict.group(1));
    while (k.find()) {
      set.add(k.group(1));
    }
    assertThat(declared).contains("concat_bytes", "heads");
    assertThat(set).isEqualTo(declared);
  }
}
