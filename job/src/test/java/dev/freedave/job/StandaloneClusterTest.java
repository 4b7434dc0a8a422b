package dev.freedave.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job on a real multi-JVM cluster: a standalone master and two workers started from the
 * project's own classpath on loopback, one executor JVM each. This is where closure serialization
 * and the per-JVM model holder are really exercised; local[*] runs everything in one JVM.
 */
class StandaloneClusterTest {
  @TempDir Path tmp;
  private final List<Process> daemons = new ArrayList<>();

  @AfterEach
  void stopDaemons() {
    for (Process p : daemons) {
      p.destroyForcibly();
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private Process start(Path sparkHome, Path log, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx512m", "-Dlog4j2.configurationFile=org/apache/spark/log4j2-defaults.properties", "-cp",
        System.getProperty("java.class.path")));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    // workers build executor command lines from SPARK_HOME (a RELEASE file and a jars/ folder) and the
    // Scala version; the executors' real classpath comes from spark.executor.extraClassPath
    pb.environment().put("SPARK_HOME", sparkHome.toString());
    pb.environment().put("SPARK_SCALA_VERSION", "2.13");
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    Process p = pb.start();
    daemons.add(p);
    return p;
  }

  /** Waits for each worker's log to say it registered (the daemons log at INFO, unlike the job). */
  private static void awaitRegistered(List<Path> workerLogs) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (System.nanoTime() < deadline) {
      boolean all = true;
      for (Path log : workerLogs) {
        all &= Files.exists(log) && Files.readString(log).contains("Successfully registered with master");
      }
      if (all) {
        return;
      }
      Thread.sleep(300);
    }
    StringBuilder logs = new StringBuilder();
    for (Path log : workerLogs) {
      logs.append(log).append(":\n").append(Files.exists(log) ? Files.readString(log) : "(none)").append('\n');
    }
    throw new AssertionError("workers did not register:\n" + logs);
  }

  @Test
  void twoExecutorJvmsLoadTheModelOnceEachAndMatchLocalOutput() throws Exception {
    JobFixtures fx = new JobFixtures(tmp);
    Path localOut = tmp.resolve("local");
    List<String> local;
    SparkSession spark = SparkSession.builder().master("local[2]").config("spark.ui.enabled", "false").getOrCreate();
    try {
      GenerateJob.run(spark, fx.config(localOut, Map.of()), GenerateJob.CommitListener.NONE);
      local = JobFixtures.content(spark, localOut);
    } finally {
      spark.stop();
    }

    Path sparkHome = tmp.resolve("spark-home");
    Files.createDirectories(sparkHome.resolve("jars"));
    Files.writeString(sparkHome.resolve("RELEASE"), "Spark from the project's classpath\n");
    int port = freePort();
    int web = freePort();
    Path masterLog = tmp.resolve("master.log");
    start(sparkHome, masterLog, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
        Integer.toString(port), "--webui-port", Integer.toString(web));
    List<Path> workerLogs = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      workerLogs.add(tmp.resolve("worker" + i + ".log"));
      start(sparkHome, workerLogs.get(i), "org.apache.spark.deploy.worker.Worker", "--host",
          "127.0.0.1", "--cores", "1", "--memory", "1536m", "--webui-port", Integer.toString(freePort()),
          "--work-dir", tmp.resolve("work" + i).toString(), "spark://127.0.0.1:" + port);
    }
    awaitRegistered(workerLogs);

    Path clusterOut = tmp.resolve("cluster");
    spark = SparkSession.builder().master("spark://127.0.0.1:" + port).appName("freedave-cluster-test")
        .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false").config("spark.executor.memory", "1g")
        .config("spark.executor.extraClassPath", String.join(File.pathSeparator, classpath()))
        .config("spark.executorEnv.DJL_CACHE_DIR", System.getenv().getOrDefault("DJL_CACHE_DIR",
            System.getProperty("user.home") + "/.djl.ai"))
        .getOrCreate();
    try {
      RunSummary s = GenerateJob.run(spark, fx.config(clusterOut, Map.of("partitions", "4")),
          GenerateJob.CommitListener.NONE);
      assertThat(s.modelLoadsByJvm()).hasSize(2);
      assertThat(s.modelLoadsByJvm().values()).containsOnly(1);
      assertThat(s.modelLoadsByJvm().keySet()).doesNotContain(Long.toString(ProcessHandle.current().pid()));
      assertThat(JobFixtures.content(spark, clusterOut)).isEqualTo(local);
    } finally {
      spark.stop();
    }
  }

  /** Absolute classpath entries of this test JVM (surefire runs it without a manifest-only jar). */
  private static List<String> classpath() {
    List<String> out = new ArrayList<>();
    for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
      out.add(Path.of(e).toAbsolutePath().toString());
    }
    return out;
  }
}
