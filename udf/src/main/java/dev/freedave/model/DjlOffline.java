package dev.freedave.model;

/**
 * Keeps DJL off the network: its offline mode (natives and models from the classpath or disk only,
 * never a download) and no telemetry. Without the latter, DJL's engine and tokenizer each "call
 * home" once a day per JVM, which first asks the EC2 metadata service (169.254.169.254) who it runs
 * on: a batch job on a customer's cluster must make no call it does not need. Every door of ours into
 * DJL calls {@link #apply} before DJL reads these settings (at its Engine's class initialisation and
 * at each tokenizer's creation); a value the user set, as an environment variable or a system
 * property, is left as it is.
 */
public final class DjlOffline {
  private static volatile boolean applied;

  private DjlOffline() {}

  public static void apply() {
    if (applied) {
      return;
    }
    synchronized (DjlOffline.class) {
      setUnlessGiven("DJL_OFFLINE", "ai.djl.offline");
      setUnlessGiven("OPT_OUT_TRACKING", "OPT_OUT_TRACKING");
      applied = true;
    }
  }

  /** DJL reads {@code env} from the environment first, then {@code property}. */
  private static void setUnlessGiven(String env, String property) {
    if (System.getenv(env) == null && System.getProperty(property) == null) {
      System.setProperty(property, "true");
    }
  }
}
