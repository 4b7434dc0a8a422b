package dev.freedave.generate;

import dev.freedave.decode.DecodeConfig;
import dev.freedave.model.ComputeDtype;
import dev.freedave.text.ChatTemplate;
import java.io.Serializable;

/**
 * Everything an executor needs to decode a partition besides the decoder config; shipped inside
 * the task closure, so it is small and serializable (the model itself never is).
 *
 * @param modelDir model folder, readable at this path on every executor ({@code default} = the packaged model)
 * @param device auto (the GPU Spark assigned to the task, else the CPU), cpu, gpu (Spark's GPU, else GPU 0:
 *     local mode on a GPU machine) or gpu:N
 * @param modelId recorded in every output row and part of the config hash
 * @param modelFingerprint the model folder's content fingerprint ({@code ModelFolder.fingerprint}), part of
 *     the config hash
 * @param auditStatic also decode statically and fill {@code match_static}
 * @param maxRowsInFlight rows decoded at once per task
 * @param maxSequencesPerForward sequences (rows × drafts) per forward
 * @param draftBudget auto (FreeDave sends the drafts that advance fastest on this device) or off (always K)
 */
public record GenerateSettings(String modelDir, ComputeDtype dtype, String device, String modelId,
    String modelFingerprint, ChatTemplate template, boolean auditStatic, int maxRowsInFlight, int maxSequencesPerForward, String draftBudget)
    implements Serializable {

  public GenerateSettings {
    if (!device.matches("auto|cpu|gpu|gpu:[0-9]+")) {
      throw new IllegalArgumentException("model.device must be auto, cpu, gpu or gpu:N, got '" + device + "'");
    }
    if (maxRowsInFlight < 1 || maxSequencesPerForward < 1) {
      throw new IllegalArgumentException("max rows in flight and max sequences per forward must be >= 1");
    }
    if (!draftBudget.equals("auto") && !draftBudget.equals("off")) {
      throw new IllegalArgumentException("draft budget must be auto or off, got '" + draftBudget + "'");
    }
  }

  /**
   * A stable id of everything besides the input row that decides a row's output for a decoder
   * config: the model (id and content fingerprint), the compute dtype, the template, the decoder
   * params and the audit. Resume skips (id, hash, input hash) triples already written, so a change
   * of any of them never counts as done.
   */
  public String configHash(DecodeConfig c) {
    String key = String.join("|", modelId, modelFingerprint, dtype.label(), template.name(),
        Boolean.toString(auditStatic), c.method().label, Integer.toString(c.draftSteps()),
        Integer.toString(c.blockLength()), Integer.toString(c.genLength()), Integer.toString(c.steps()),
        Double.toString(c.threshold()), Double.toString(c.temperature()), Boolean.toString(c.eosEarlyExit()),
        c.cache().label());
    return "cfg-" + Sha256.hex(key, 6); // never all digits: partition discovery keeps it a string
  }
}
