package dev.freedave.generate;

import java.util.function.Function;

/**
 * The output columns, in Parquet order (README, "Output schema"): the one definition from which the
 * Spark schema, the rows handed to Spark and the run summary's reads are all derived.
 */
public enum OutputColumn {
  ID(Type.STRING, true, r -> r.id()),
  PROMPT(Type.STRING, true, r -> r.prompt()),
  COMPLETION(Type.STRING, true, r -> r.decoded().completion()),
  COMPLETION_TOKEN_IDS(Type.INT_ARRAY, false, r -> r.decoded().tokens()),
  FINISH_REASON(Type.STRING, false, r -> r.decoded().finishReason()),
  ERROR(Type.STRING, true, r -> r.decoded().error()),
  DECODER(Type.STRING, false, r -> r.run().decoder()),
  DRAFT_STEPS(Type.INT, true, r -> r.run().draftSteps()),
  BLOCK_LENGTH(Type.INT, false, r -> r.run().blockLength()),
  GEN_LENGTH(Type.INT, false, r -> r.run().genLength()),
  THRESHOLD(Type.DOUBLE, true, r -> r.run().threshold()),
  CACHE(Type.STRING, false, r -> r.run().cache()),
  NFE(Type.INT, false, r -> r.decoded().stats().nfe()),
  STATIC_STEPS(Type.INT, false, r -> r.decoded().stats().staticSteps()),
  TPF(Type.DOUBLE, false, r -> r.decoded().stats().tpf()),
  ACCEPTED_HIST(Type.INT_ARRAY, false, r -> r.decoded().stats().acceptedHist()),
  POSITIONS_COMPUTED(Type.LONG, false, r -> r.decoded().stats().positionsComputed()),
  DRAFTS_VERIFIED(Type.INT, false, r -> r.decoded().stats().draftsVerified()),
  DECODE_MS(Type.DOUBLE, false, r -> r.decoded().stats().decodeMs()),
  PROMPT_TOKENS(Type.INT, false, r -> r.decoded().promptTokens()),
  GEN_TOKENS(Type.INT, false, r -> r.decoded().genTokens()),
  MATCH_STATIC(Type.BOOLEAN, true, r -> r.decoded().matchStatic()),
  CORRECT(Type.BOOLEAN, true, r -> r.decoded().correct()),
  INPUT_HASH(Type.STRING, false, r -> r.inputHash()),
  MODEL_ID(Type.STRING, false, r -> r.run().modelId()),
  CONFIG_HASH(Type.STRING, false, r -> r.run().configHash());

  /** The value kinds a column holds. */
  public enum Type {
    STRING,
    INT,
    LONG,
    DOUBLE,
    BOOLEAN,
    INT_ARRAY
  }

  public final Type type;
  public final boolean nullable;
  private final Function<OutputRow, Object> value;

  OutputColumn(Type type, boolean nullable, Function<OutputRow, Object> value) {
    this.type = type;
    this.nullable = nullable;
    this.value = value;
  }

  /** The column name, e.g. {@code completion_token_ids}. */
  public String column() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  /** Whether the column echoes the input row (a transformer keeps the input's own column instead). */
  public boolean fromInput() {
    return this == ID || this == PROMPT;
  }

  public Object of(OutputRow row) {
    return value.apply(row);
  }
}
