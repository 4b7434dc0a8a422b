package dev.freedave.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.engine.Engine;
import dev.freedave.decode.DecodeConfig;
import dev.freedave.generate.GenerateSettings;
import dev.freedave.generate.InputRow;
import dev.freedave.generate.OutputRow;
import dev.freedave.generate.PartitionGenerator;
import dev.freedave.testkit.TinyModels;
import dev.freedave.text.ChatTemplate;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketImpl;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an executor does (tokenizer, model load, a decoded partition) opens no socket. Each case runs
 * in a fresh JVM, since DJL's telemetry fires once per JVM at its first use: {@link Probe} makes every
 * {@link java.net.Socket} fail and print where it was going (HttpURLConnection, the only HTTP client
 * DJL uses, connects through one). The control case touches DJL without our settings and must be
 * seen calling the EC2 metadata service, which shows the probe would catch a call.
 */
class NoNetworkTest {
  @TempDir static Path tmp;

  @Test
  void decodingAPartitionOpensNoSocket() throws Exception {
    Path model = TinyModels.write(tmp.resolve("model"), TinyModels.Spec.llada(5));
    ProbeRun run = probe("decode", model);
    assertThat(run.output()).contains("decoded 1 row");
    assertThat(run.output()).doesNotContain("CONNECT ");
    assertThat(run.exit()).isZero();
  }

  @Test
  void theProbeSeesDjlsCallHomeWithoutOurSettings() throws Exception {
    ProbeRun run = probe("control", tmp);
    assertThat(run.output()).contains("CONNECT /169.254.169.254:80");
  }

  record ProbeRun(int exit, String output) {}

  /** Runs {@link Probe} in a new JVM on this test's classpath, with DJL's switches out of its environment. */
  private static ProbeRun probe(String mode, Path model) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), Probe.class.getName(), mode, model.toString());
    Map<String, String> env = pb.environment();
    env.remove("DJL_OFFLINE");
    env.remove("OPT_OUT_TRACKING");
    pb.redirectErrorStream(true);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    return new ProbeRun(p.exitValue(), out);
  }

  /** The child JVM: blocks every socket, then does what its mode says. */
  public static final class Probe {
    public static void main(String[] args) throws Exception {
      Socket.setSocketImplFactory(BlockedSocket::new);
      if (args[0].equals("control")) {
        System.out.println("engine " + Engine.getInstance().getEngineName());
        return;
      }
      ModelFolder folder = ModelFolder.open(Path.of(args[1]));
      folder.validate(); // the driver's part
      try (LoadedModel loaded = folder.load(ComputeDtype.FLOAT32, Device.cpu())) {
        GenerateSettings s = new GenerateSettings(args[1], ComputeDtype.FLOAT32, "cpu", "probe", folder.fingerprint(),
            ChatTemplate.NONE, false, 1, 8, "off");
        List<InputRow> rows = new ArrayList<>(List.of(new InputRow("a", "what is 1 + 2 ?", null, null, null)));
        List<OutputRow> out = new PartitionGenerator(s, loaded).run(rows,
            DecodeConfig.of(DecodeConfig.Method.FREEDAVE, 8, 4, 4, 0.9), PartitionGenerator.Progress.NONE);
        System.out.println("decoded " + out.size() + " row, error " + out.get(0).decoded().error());
      }
    }
  }

  /** A socket whose every connect fails after printing its target. */
  static final class BlockedSocket extends SocketImpl {
    private static void blocked(Object target) throws ConnectException {
      System.out.println("CONNECT " + target);
      throw new ConnectException("blocked by NoNetworkTest: " + target);
    }

    @Override
    protected void create(boolean stream) {}

    @Override
    protected void connect(String host, int port) throws IOException {
      blocked(host + ":" + port);
    }

    @Override
    protected void connect(InetAddress address, int port) throws IOException {
      blocked(address + ":" + port);
    }

    @Override
    protected void connect(SocketAddress address, int timeout) throws IOException {
      blocked(address);
    }

    @Override
    protected void bind(InetAddress host, int port) throws IOException {
      throw new IOException("blocked by NoNetworkTest");
    }

    @Override
    protected void listen(int backlog) throws IOException {
      throw new IOException("blocked by NoNetworkTest");
    }

    @Override
    protected void accept(SocketImpl s) throws IOException {
      throw new IOException("blocked by NoNetworkTest");
    }

    @Override
    protected InputStream getInputStream() throws IOException {
      throw new IOException("blocked by NoNetworkTest");
    }

    @Override
    protected OutputStream getOutputStream() throws IOException {
      throw new IOException("blocked by NoNetworkTest");
    }

    @Override
    protected int available() {
      return 0;
    }

    @Override
    protected void close() {}

    @Override
    protected void sendUrgentData(int data) throws IOException {
      throw new IOException("blocked by NoNetworkTest");
    }

    @Override
    public void setOption(int optID, Object value) {}

    @Override
    public Object getOption(int optID) {
      return null;
    }
  }
}
