package dev.freedave.spark;

import static org.assertj.core.api.Assertions.assertThat;

import dev.freedave.decode.DecodeScheduler.ForwardEvent;
import org.apache.spark.util.LongAccumulator;
import org.junit.jupiter.api.Test;

/** Every forward counts once; those run while the draft budget's guard held drafts back count again. */
class DecodeCountersTest {
  @Test
  void vetoedForwardsAreCountedApart() {
    LongAccumulator forwards = new LongAccumulator();
    LongAccumulator vetoed = new LongAccumulator();
    DecodeCounters c = new DecodeCounters(null, null, forwards, vetoed, null);
    c.forward(new ForwardEvent(2, 2, 40, 1_000, "s", 1, true));
    c.forward(new ForwardEvent(2, 9, 40, 1_000, "s", 8, false));
    c.forward(new ForwardEvent(2, 2, 40, 1_000, "s", 1, true));
    assertThat(forwards.value()).isEqualTo(3);
    assertThat(vetoed.value()).isEqualTo(2);
    DecodeCounters.NONE.forward(new ForwardEvent(1, 1, 8, 1, "s", 0, true)); // counts nowhere, fails nowhere
  }
}
