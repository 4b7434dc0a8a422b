package dev.freedave.job;

import dev.freedave.spark.DecodeCounters;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** A periodic driver log line from the tasks' accumulators: rows, tokens, forwards, rows/s and ETA. */
final class Progress {
  private final DecodeCounters counters;
  private final long expected;
  private final long start = System.nanoTime();
  private final ScheduledExecutorService timer;
  private volatile long skipped;

  Progress(DecodeCounters counters, long expected, int intervalS) {
    this.counters = counters;
    this.expected = expected;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "freedave-progress");
      t.setDaemon(true);
      return t;
    });
    if (intervalS > 0) {
      timer.scheduleAtFixedRate(this::log, intervalS, intervalS, TimeUnit.SECONDS);
    }
  }

  /** Rows a resumed run finds already written. */
  void skip(long rows) {
    skipped += rows;
  }

  private void log() {
    long rows = counters.rows().value();
    double s = (System.nanoTime() - start) / 1e9;
    double rate = rows / Math.max(s, 1e-9);
    long left = Math.max(0, expected - skipped - rows);
    System.out.printf(Locale.ROOT, "freedave progress: rows=%d/%d tokens=%d forwards=%d rows/s=%.2f eta_s=%s%n",
        rows + skipped, expected, counters.tokens().value(), counters.forwards().value(), rate,
        rate > 0 ? String.format(Locale.ROOT, "%.0f", left / rate) : "?");
  }

  void stop() {
    timer.shutdownNow();
  }
}
