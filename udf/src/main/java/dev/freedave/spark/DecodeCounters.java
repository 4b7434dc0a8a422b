package dev.freedave.spark;

import dev.freedave.decode.DecodeScheduler;
import dev.freedave.generate.OutputRow;
import dev.freedave.generate.PartitionGenerator;
import org.apache.spark.SparkContext;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;

/**
 * Driver-side accumulators the tasks add to (visible in the Spark UI); each may be null, then
 * nothing is counted there.
 */
public record DecodeCounters(LongAccumulator rows, LongAccumulator tokens, LongAccumulator forwards,
    LongAccumulator forwardsVetoed, CollectionAccumulator<String> modelLoads) implements PartitionGenerator.Progress, java.io.Serializable {

  /** Counts nothing. */
  public static final DecodeCounters NONE = new DecodeCounters(null, null, null, null, null);

  /**
   * Accumulators registered on {@code sc} as freedave.rows, .tokens, .forwards, .forwards_vetoed (forwards
   * whose FreeDave rows the draft budget's guard held to single steps: where a run's drafts were
   * measured not to pay) and .model_loads.
   */
  public static DecodeCounters register(SparkContext sc) {
    return new DecodeCounters(sc.longAccumulator("freedave.rows"), sc.longAccumulator("freedave.tokens"),
        sc.longAccumulator("freedave.forwards"), sc.longAccumulator("freedave.forwards_vetoed"),
        sc.collectionAccumulator("freedave.model_loads"));
  }

  @Override
  public void forward(DecodeScheduler.ForwardEvent e) {
    if (forwards != null) {
      forwards.add(1);
    }
    if (forwardsVetoed != null && e.vetoed()) {
      forwardsVetoed.add(1);
    }
  }

  @Override
  public void row(OutputRow r) {
    if (rows != null) {
      rows.add(1);
      tokens.add(r.decoded().genTokens());
    }
  }

  /** Records "pid:loads" of the executor JVM that ran a task, for the one-load-per-executor check. */
  void modelLoaded(int loadsInThisJvm) {
    if (modelLoads != null) {
      modelLoads.add(ProcessHandle.current().pid() + ":" + loadsInThisJvm);
    }
  }
}
