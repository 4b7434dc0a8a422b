package dev.freedave.model;

import ai.djl.Model;
import ai.djl.pytorch.engine.PtSymbolBlock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Copies of the scripted core (a few KB each: it holds no weights), one per decode configuration, for
 * the shapes that configuration calls most. libtorch keeps its specialisations per method of a loaded
 * module and gives a method's first two shapes static fused kernels, later ones dynamic-shape kernels
 * that cost more host time a call; in a JVM that decodes several configurations in turn (a sweep, the
 * bench: static and FreeDave, with and without a cache, at several rows in flight), the first
 * configuration's shapes took the two and every later configuration ran on dynamic kernels. Here each
 * configuration's lane has a copy that runs only the two shapes its {@link ShapeGrants} grant, so
 * they get static kernels; every other call runs on the shared core as before, whose dynamic
 * kernels, compiled once, serve every configuration. A lane is chosen per thread ({@link #enter}) by
 * whoever knows the configuration (DecodeScheduler, around each step's forwards); calls outside any
 * lane run on the shared core.
 *
 * <p>A copy's first granted call optimises its whole graph (~120 ms for the demo model on the H200,
 * docs/results.md, "Copies of the core"), once per lane and method, within the lane's first calls.
 * At most {@value #MAX} lanes; later configurations run on the shared core alone.
 */
final class CoreLanes implements AutoCloseable {
  static final int MAX = 16;

  /** A copy of the core and its grants. */
  private record Lane(PtSymbolBlock block, ShapeGrants grants) {}

  private final Supplier<Model> loader;
  private final PtSymbolBlock shared;
  private final Map<Object, Lane> lanes = new HashMap<>();
  private final List<Model> models = new ArrayList<>();
  private final ThreadLocal<Lane> current = new ThreadLocal<>();

  /**
   * @param shared the core already loaded, which runs every call no lane's copy does
   * @param loader loads a copy of the core
   */
  CoreLanes(PtSymbolBlock shared, Supplier<Model> loader) {
    this.loader = loader;
    this.shared = shared;
  }

  /** Until the returned scope closes, this thread's calls run in the lane of {@code key} (made on first use). */
  DiffusionLM.Scope enter(Object key) {
    Lane lane;
    synchronized (lanes) {
      lane = lanes.get(key);
      if (lane == null && models.size() < MAX) {
        Model m = loader.get();
        models.add(m);
        lane = new Lane((PtSymbolBlock) m.getBlock(), new ShapeGrants());
        lanes.put(key, lane);
      }
    }
    Lane before = current.get();
    current.set(lane);
    return () -> current.set(before);
  }

  /** The block a call of {@code method} with input shape {@code shape} runs on, in this thread's lane. */
  PtSymbolBlock route(String method, String shape) {
    Lane lane = current.get();
    return lane != null && lane.grants().granted(method, shape) ? lane.block() : shared;
  }

  /** How many copies are loaded besides the shared core. */
  int copies() {
    synchronized (lanes) {
      return models.size();
    }
  }

  @Override
  public void close() {
    synchronized (lanes) {
      models.forEach(Model::close);
      models.clear();
    }
  }
}
