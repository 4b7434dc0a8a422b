package dev.freedave.model;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Which calls of a lane's methods run on the lane's own copy of the core (CoreLanes), where they get
 * libtorch's static fused kernels. libtorch gives a method's first two input shapes static kernels
 * and every later one dynamic-shape kernels, whose guards and shape arithmetic cost 0.16-0.40 ms of
 * host time a call on the H200 (a small model's forward is ~2 ms; docs/results.md, "Fusion depth").
 * Here a shape takes one of a lane's two only once it has been called {@value #AFTER} times, and only
 * within a method's first {@value #WINDOW} calls in the lane: the shapes that recur early, a
 * configuration's steady ones, get the cheap kernels, and no grant (a compile: ~120 ms the first time
 * a copy's method is optimised) falls in the middle of a run. Every other call runs on the shared
 * core, whose specialisations all configurations share, as libtorch would have it.
 */
final class ShapeGrants {
  /** libtorch's default fusion strategy: two static specialisations a method, then dynamic ones. */
  static final int SLOTS = 2;
  /** Calls of a shape before it takes a slot: a shape met once or twice (a row's first forward) does not. */
  static final int AFTER = 3;
  /**
   * A method's calls in the lane within which grants are made: about a bench's warm-up pass at 32 rows
   * in flight (compiles in its timed passes of 0.1-0.3 s put FreeDave at 0.3-0.7x static there).
   */
  static final int WINDOW = 64;

  private static final class Method {
    int calls;
    final Set<String> granted = new HashSet<>();
    final Map<String, Integer> seen = new HashMap<>();
  }

  private final Map<String, Method> methods = new HashMap<>();

  /** Whether this call of {@code method} with input shape {@code shape} runs on the lane's copy. */
  synchronized boolean granted(String method, String shape) {
    Method m = methods.computeIfAbsent(method, k -> new Method());
    if (m.granted.contains(shape)) {
      return true;
    }
    if (m.calls >= WINDOW || m.granted.size() == SLOTS) {
      return false;
    }
    m.calls++;
    if (m.seen.merge(shape, 1, Integer::sum) < AFTER) {
      return false;
    }
    m.granted.add(shape);
    if (m.granted.size() == SLOTS) {
      m.seen.clear();
    }
    return true;
  }
}
