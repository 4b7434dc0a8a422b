package dev.freedave.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Rotary cos/sin tables [P, hd] on the model's device, in the compute dtype, angles repeated for both
 * halves (half-rotation RoPE), sin's first half negated as the core's rope() takes it. Grown when a
 * forward needs positions past P, which the caller knows on the host: looking it up never waits for
 * the device.
 */
final class RopeTable {
  /** The tables, passed to every core call. */
  record Tables(int size, NDArray cos, NDArray sin) {}

  private final NDManager manager;
  private final DataType dtype;
  private final float[] invFreq; // [hd / 2]
  private final int preferred;
  private volatile Tables tables;

  RopeTable(ModelConfig c, DataType dtype, NDManager manager) {
    this.manager = manager;
    this.dtype = dtype;
    int half = c.headDim() / 2;
    this.invFreq = new float[half];
    for (int j = 0; j < half; j++) {
      // as HF computes it: theta^(2j/d) in float32, then its reciprocal
      invFreq[j] = 1.0f / (float) Math.pow(c.ropeTheta(), (2.0 * j) / c.headDim());
    }
    this.preferred = Math.min(c.maxSequenceLength(), 4096);
  }

  /** Tables covering positions [0, positions). */
  Tables upTo(int positions) {
    Tables t = tables;
    if (t != null && t.size() >= positions) {
      return t;
    }
    synchronized (this) {
      if (tables != null && tables.size() >= positions) {
        return tables;
      }
      int size = Math.max(positions, preferred);
      int half = invFreq.length;
      float[] cos = new float[size * half * 2];
      float[] sin = new float[size * half * 2];
      for (int p = 0; p < size; p++) {
        for (int j = 0; j < half; j++) {
          float angle = p * invFreq[j];
          float c = (float) Math.cos(angle);
          float s = (float) Math.sin(angle);
          cos[p * 2 * half + j] = c;
          cos[p * 2 * half + half + j] = c;
          sin[p * 2 * half + j] = -s; // the core rotates with roll(x) = [x2, x1] times this
          sin[p * 2 * half + half + j] = s;
        }
      }
      Shape shape = new Shape(size, 2L * half);
      NDArray c = manager.create(cos, shape).toType(dtype, false);
      NDArray s = manager.create(sin, shape).toType(dtype, false);
      // a replaced table stays in the model's manager: a concurrent forward may still read it
      tables = new Tables(size, c, s);
      return tables;
    }
  }
}
