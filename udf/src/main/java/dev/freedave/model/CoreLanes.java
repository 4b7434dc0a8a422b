package dev.freedave.model;

import ai.djl.Model;
import ai.djl.pytorch.engine.PtSymbolBlock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Copies of the scripted core (a few KB each: it holds no weights), so that libtorch specialises
 * each decode configuration's forwards on its own. libtorch keeps its specialisations per method of
 * a loaded module, and a JVM that decodes under several configurations in turn (a sweep, the bench:
 * static and FreeDave, with and without a cache, at several rows in flight) would otherwise spend a
 * method's two static specialisations on the first configuration's shapes and give every later one
 * dynamic-shape kernels, dearer on the host (ShapeGrants); an executor decoding one configuration has
 * one lane, as if alone. A lane is chosen per thread ({@link #enter}) by whoever knows the
 * configuration (DecodeScheduler, around each step's forwards); calls outside any lane take the first.
 * Each lane's {@link ShapeGrants} decide which calls run optimised on its copy; the others run on one
 * shared copy that is never optimised.
 *
 * <p>A lane's first call of a method optimises that copy's whole graph (~120 ms for the demo model on
 * the H200, docs/results.md, "Copies of the core"), once per lane and method: in a sweep's first pass,
 * not in every pass. At most {@value #MAX} lanes; configurations past them share the first.
 */
final class CoreLanes implements AutoCloseable {
  static final int MAX = 16;

  /** A copy of the core and its grants. */
  record Lane(PtSymbolBlock block, ShapeGrants grants) {}

  /** What one call runs on: a block, and whether libtorch's optimiser is on for it. */
  record Route(PtSymbolBlock block, boolean optimise) {}

  private final Supplier<Model> loader;
  private final Lane first;
  private final PtSymbolBlock plain;
  private final Map<Object, Lane> lanes = new HashMap<>();
  private final List<Model> models = new ArrayList<>();
  private final ThreadLocal<Lane> current = new ThreadLocal<>();

  /**
   * @param first the core already loaded, the first lane's
   * @param loader loads another copy of the core
   */
  CoreLanes(PtSymbolBlock first, Supplier<Model> loader) {
    this.loader = loader;
    this.first = new Lane(first, new ShapeGrants());
    this.plain = load();
  }

  private PtSymbolBlock load() {
    Model m = loader.get();
    models.add(m);
    return (PtSymbolBlock) m.getBlock();
  }

  /** Until the returned scope closes, this thread's calls run in the lane of {@code key} (made on first use). */
  DiffusionLM.Scope enter(Object key) {
    Lane lane;
    synchronized (lanes) {
      lane = lanes.get(key);
      if (lane == null) {
        lane = lanes.size() >= MAX ? first : lanes.isEmpty() ? first : new Lane(load(), new ShapeGrants());
        lanes.put(key, lane);
      }
    }
    Lane before = current.get();
    current.set(lane);
    return () -> current.set(before);
  }

  /** Where a call of {@code method} with input shape {@code shape} runs, in this thread's lane. */
  Route route(String method, String shape) {
    Lane lane = current.get();
    if (lane == null) {
      lane = first;
    }
    return lane.grants().optimised(method, shape) ? new Route(lane.block(), true) : new Route(plain, false);
  }

  /** How many copies are loaded besides the first core (the plain one included). */
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
