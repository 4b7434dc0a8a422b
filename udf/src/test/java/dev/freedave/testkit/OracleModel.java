package dev.freedave.testkit;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.freedave.model.DiffusionLM;
import dev.freedave.model.ModelSpec;
import java.util.List;

/**
 * A hand-built model whose logits are a known function of the current tokens, so trajectories and
 * forward counts can be worked out by hand.
 *
 * <p>For a masked generated position p: if p is the first generated position or p-1 holds a token,
 * the model is sure (logit 5) of {@code answer[p]}; otherwise it is unsure (logit 1 - 0.01 p, so
 * unsure positions rank left to right) and predicts {@code answer[p]} too, except at a "trap"
 * position (p % trapPeriod == 0) where it guesses {@code answer[p] + 1}. Static decoding therefore
 * goes left to right and writes {@code answer}; a FreeDave draft is right until it crosses a trap.
 */
public final class OracleModel implements DiffusionLM {
  public static final int VOCAB = 32;
  public static final int MASK = 31;
  public static final int EOS = 1;

  private final NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
  private final int promptLength;
  private final int[] answer;
  private final int trapPeriod;
  private final ModelSpec spec;
  public int forwards;

  public OracleModel(int promptLength, int[] answer, int trapPeriod, int predictionOffset) {
    this(promptLength, answer, trapPeriod, new ModelSpec(VOCAB, MASK, List.of(EOS), predictionOffset, 1024));
  }

  private OracleModel(int promptLength, int[] answer, int trapPeriod, ModelSpec spec) {
    this.promptLength = promptLength;
    this.answer = answer;
    this.trapPeriod = trapPeriod;
    this.spec = spec;
  }

  /**
   * The oracle as a block-causal model (its blocks at absolute positions): its rule reads only the
   * position before the one predicted, which every block-causal mask shows it.
   */
  public static OracleModel blockCausal(int promptLength, int[] answer, int trapPeriod) {
    return new OracleModel(promptLength, answer, trapPeriod, new ModelSpec(VOCAB, MASK, List.of(EOS), 0, 1024, true));
  }

  @Override
  public NDArray logitsBlockCausal(NDArray ids, NDArray keyMask, NDArray outputIndex, int block) {
    return logits(ids, keyMask, null, outputIndex);
  }

  @Override
  public ModelSpec spec() {
    return spec;
  }

  @Override
  public NDManager newScope() {
    return manager.newSubManager();
  }

  @Override
  public synchronized NDArray logits(NDArray ids, NDArray keyMask, NDArray positions, NDArray outputIndex) {
    forwards++;
    int b = (int) ids.getShape().get(0);
    int len = (int) ids.getShape().get(1);
    long[] tok = ids.toLongArray();
    long[] idx = outputIndex.toLongArray();
    int w = (int) outputIndex.getShape().get(1);
    float[] out = new float[b * w * VOCAB];
    for (int r = 0; r < b; r++) {
      for (int j = 0; j < w; j++) {
        int p = (int) idx[r * w + j] + spec.predictionOffset() - promptLength; // gen-relative position predicted
        if (p < 0 || p >= answer.length) {
          continue;
        }
        boolean sure = p == 0 || tok[r * len + promptLength + p - 1] != MASK;
        int token = sure || p % trapPeriod != 0 ? answer[p] : (answer[p] + 1) % (VOCAB - 1);
        out[(r * w + j) * VOCAB + token] = sure ? 5f : 1f - 0.01f * p;
      }
    }
    return ids.getManager().create(out, new Shape(b, w, VOCAB));
  }

  @Override
  public void close() {
    manager.close();
  }
}
