package dev.freedave.model;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Graph executors of their own for the input shapes a run keeps calling. libtorch's graph executor
 * gives a scripted method static fused kernels for the first two input shapes it meets and
 * dynamic-shape kernels for later ones, whose guards and shape arithmetic cost 0.16-0.40 ms more
 * host time a call on the H200, a tenth to a quarter of a small model's forward (docs/results.md,
 * "Fusion depth"). Which two get them is whatever comes first: in one JVM the configuration that runs
 * first (static decoding at one row, in the bench) takes them, and the shapes FreeDave runs most pay
 * the dearer kernels.
 *
 * <p>So every grantable method of the core has {@link #aliases} (the same code under other names:
 * each a graph executor of its own), and a shape other than a method's first two that recurs early
 * is granted a place on one, which takes two shapes as the method does: both get static kernels. A
 * grant is made at the shape's {@value #AFTER}th call, only among the first {@value #WINDOW} calls of
 * the method outside the shapes it runs with static kernels: what a run meets early is what it runs,
 * and the compile a grant costs (a new executor's first optimisation, ~0.1 s on the H200 for the demo
 * model; a second shape on it, what any new shape costs) is then paid near the start, not in the
 * middle of a short stretch of decoding. A grant's first call runs the alias twice (libtorch profiles
 * a shape's first call on an executor and optimises at the second) and is counted in {@link #made},
 * so that the draft budget does not take its time for a forward's cost.
 */
final class ShapeGrants {
  /** A shape is granted at this call of it. */
  static final int AFTER = 16;
  /** Grants are made only among this many first calls of a method outside its static shapes. */
  static final int WINDOW = 256;
  /** The shapes an executor gives static kernels: libtorch's default fusion strategy. */
  static final int STATIC = 2;

  /** Which executor a call runs on: {@code method}; {@code first}: a new grant's first call. */
  record Route(String method, boolean first) {}

  private final int perMethod;
  private final Map<String, Method> methods = new HashMap<>();
  private long made;

  /** @param perMethod aliases of each grantable method (0: none, every call runs on its method) */
  ShapeGrants(int perMethod) {
    this.perMethod = perMethod;
  }

  /** What the core knows of one method's calls. */
  private static final class Method {
    final Set<String> own = new LinkedHashSet<>();
    final Map<String, Integer> calls = new HashMap<>();
    final Map<String, String> granted = new HashMap<>();
    int others; // calls outside the shapes with static kernels
  }

  /** The executor that runs a call of {@code method} at input shape {@code shape}. */
  synchronized Route route(String method, String shape) {
    if (perMethod == 0) {
      return new Route(method, false);
    }
    Method m = methods.computeIfAbsent(method, k -> new Method());
    String alias = m.granted.get(shape);
    if (alias != null) {
      return new Route(alias, false);
    }
    if (m.own.contains(shape) || m.own.size() < STATIC && m.own.add(shape)) {
      return new Route(method, false);
    }
    if (m.others >= WINDOW || m.granted.size() >= perMethod * STATIC) {
      return new Route(method, false);
    }
    m.others++;
    if (m.calls.merge(shape, 1, Integer::sum) < AFTER) {
      return new Route(method, false);
    }
    alias = aliasName(method, m.granted.size() / STATIC + 1);
    m.granted.put(shape, alias);
    made++;
    return new Route(alias, true);
  }

  /** Calls so far that made a grant (each one a compile). */
  synchronized long made() {
    return made;
  }

  static String aliasName(String method, int i) {
    return method + "__grant" + i;
  }

  /**
   * TorchScript for {@code perMethod} aliases of each of {@code names}, methods of the module whose
   * {@code source} declares them as {@code def name(self: T, params) -> R:}: each alias
   * {@link #aliasName} takes the same parameters and returns what the method returns.
   */
  static String aliases(String source, List<String> names, int perMethod) {
    StringBuilder out = new StringBuilder();
    for (String name : names) {
      Matcher d = Pattern.compile("\n  def " + name + "\\((self: [^,]+), (.*?)\\) -> (.*?):\n", Pattern.DOTALL)
          .matcher(source);
      if (!d.find()) {
        throw new IllegalArgumentException("the core's source declares no method " + name);
      }
      String call = "self." + name + "(" + String.join(", ", parameterNames(d.group(2))) + ")";
      for (int i = 1; i <= perMethod; i++) {
        out.append("\n  def ").append(aliasName(name, i)).append('(').append(d.group(1)).append(", ")
            .append(d.group(2)).append(") -> ").append(d.group(3)).append(":\n    return ").append(call).append('\n');
      }
    }
    return out.toString();
  }

  /** The names of a parameter list {@code a: T, b: List[T], ...} (types may hold commas in brackets). */
  private static List<String> parameterNames(String params) {
    List<String> names = new ArrayList<>();
    int depth = 0;
    int start = 0;
    for (int i = 0; i <= params.length(); i++) {
      char c = i < params.length() ? params.charAt(i) : ',';
      if (c == '[') {
        depth++;
      } else if (c == ']') {
        depth--;
      } else if (c == ',' && depth == 0) {
        names.add(params.substring(start, i).split(":")[0].trim());
        start = i + 1;
      }
    }
    return names;
  }
}
