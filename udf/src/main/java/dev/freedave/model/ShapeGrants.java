package dev.freedave.model;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Which calls of the scripted core's methods run under libtorch's graph optimiser. The optimiser
 * gives a method's first two input shapes static fused kernels and every later one dynamic-shape
 * kernels, whose guards and shape arithmetic cost 0.16-0.40 ms of host time a call on the H200 (a
 * small model's forward is ~2 ms; docs/results.md, "Fusion depth"). Left to itself, it spends the two
 * on whatever shapes come first: a row's first forward, a fill. Here a shape takes one of the two
 * only once it has been called {@value #AFTER} times, and until both are taken the calls of other
 * shapes run on a copy of the core that is never optimised (unfused, nothing compiled), so that the
 * shapes that recur get the cheap kernels. Once both are taken every call is optimised, as libtorch
 * would have it: at large sizes dynamic fused kernels save the GPU more than their guards cost the
 * host (the demo model at 32 rows in float16: 15.3 against 13.3 thousand tokens/s unfused).
 */
final class ShapeGrants {
  /** libtorch's default fusion strategy: two static specialisations a method, then dynamic ones. */
  static final int SLOTS = 2;
  /**
   * Calls of a shape before it takes a slot: enough that a shape met once or twice (a row's first
   * forward) does not, few enough that of forward-cost's three warm-up calls of a shape the third is
   * granted (libtorch profiles it) and only the first timed call compiles.
   */
  static final int AFTER = 3;
  /** Shapes counted per method at most, a bound where none ever recurs. */
  private static final int COUNTED = 4096;

  private static final class Method {
    int free = SLOTS;
    final Set<String> granted = new HashSet<>();
    final Map<String, Integer> calls = new HashMap<>();
  }

  private final Map<String, Method> methods = new HashMap<>();

  /** Whether this call of {@code method} with input shape {@code shape} runs optimised. */
  synchronized boolean optimised(String method, String shape) {
    Method m = methods.computeIfAbsent(method, k -> new Method());
    if (m.free == 0 || m.granted.contains(shape)) {
      return true;
    }
    if (m.calls.merge(shape, 1, Integer::sum) < AFTER) {
      if (m.calls.size() > COUNTED) {
        m.calls.clear();
      }
      return false;
    }
    m.granted.add(shape);
    if (--m.free == 0) {
      m.calls.clear();
    }
    return true;
  }
}
