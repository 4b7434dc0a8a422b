package dev.freedave.model;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** A lane's two static specialisations a method go to the first two shapes that recur early, no others. */
class ShapeGrantsTest {
  @Test
  void aShapeRunsSharedUntilItRecursThenOnTheLaneForGood() {
    ShapeGrants g = new ShapeGrants();
    for (int i = 1; i < ShapeGrants.AFTER; i++) {
      assertThat(g.granted("full", "a")).as("call %d of a", i).isFalse();
    }
    assertThat(g.granted("full", "a")).isTrue();
    assertThat(g.granted("full", "a")).isTrue();
    assertThat(g.granted("cached", "a")).as("another method counts apart").isFalse();
  }

  @Test
  void twoShapesAtMostAndNoneAfterTheWindow() {
    ShapeGrants g = new ShapeGrants();
    for (String shape : new String[] {"a", "b", "c"}) {
      for (int i = 0; i < ShapeGrants.AFTER; i++) {
        g.granted("full", shape);
      }
    }
    assertThat(ShapeGrants.SLOTS).isEqualTo(2);
    assertThat(g.granted("full", "a")).isTrue();
    assertThat(g.granted("full", "b")).isTrue();
    assertThat(g.granted("full", "c")).as("both taken: the shared core's kernels").isFalse();

    ShapeGrants late = new ShapeGrants();
    for (int i = 0; i < ShapeGrants.WINDOW; i++) {
      late.granted("full", "once " + i); // shapes that never recur fill the window
    }
    for (int i = 0; i < ShapeGrants.AFTER + 1; i++) {
      assertThat(late.granted("full", "late")).as("past the window: no compile mid-run").isFalse();
    }
  }
}
