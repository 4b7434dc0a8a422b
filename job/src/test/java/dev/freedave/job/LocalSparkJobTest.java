package dev.freedave.job;

import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the job test classes that run the job in-process share: the tests' local Spark, and the
 * fixtures (tiny model folder, input files) in a temp folder of the class, made once per class.
 */
abstract class LocalSparkJobTest {
  static SparkSession spark;
  @TempDir static Path tmp;
  static JobFixtures fx;

  @BeforeAll
  static void startSpark() throws Exception {
    spark = JobFixtures.localSpark("test");
    fx = new JobFixtures(tmp);
  }

  @AfterAll
  static void stopSpark() {
    spark.stop();
  }
}
