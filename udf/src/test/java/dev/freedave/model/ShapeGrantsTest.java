package dev.freedave.model;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Libtorch's two static specialisations a method go to the first two shapes that recur, no others. */
class ShapeGrantsTest {
  @Test
  void aShapeRunsPlainUntilItRecursThenOptimisedForGood() {
    ShapeGrants g = new ShapeGrants();
    for (int i = 1; i < ShapeGrants.AFTER; i++) {
      assertThat(g.optimised("full", "a")).as("call %d of a", i).isFalse();
    }
    assertThat(g.optimised("full", "a")).isTrue();
    assertThat(g.optimised("full", "a")).isTrue();
    assertThat(g.optimised("cached", "a")).as("another method counts apart").isFalse();
  }

  @Test
  void onceBothSlotsAreTakenEveryCallIsOptimised() {
    ShapeGrants g = new ShapeGrants();
    assertThat(g.optimised("full", "once")).isFalse(); // met once: never granted
    for (String shape : new String[] {"a", "b"}) {
      for (int i = 0; i < ShapeGrants.AFTER; i++) {
        g.optimised("full", shape);
      }
    }
    assertThat(ShapeGrants.SLOTS).isEqualTo(2);
    assertThat(g.optimised("full", "once")).as("slots taken: libtorch's dynamic kernels").isTrue();
    assertThat(g.optimised("full", "new")).isTrue();
    assertThat(g.optimised("full", "a")).isTrue();
  }
}
