package dev.freedave.job;

import dev.freedave.generate.InputRow;
import dev.freedave.generate.Sha256;
import java.io.Serializable;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * One record of the input as the job reads it, whatever the format: a row to decode (which may
 * carry a {@code problem}: it is then written as an error row), or a malformed line or record that
 * is no row at all (counted, with its place and reason, in the summary).
 *
 * @param id the id's exact input text; a record without one gets {@link #anonId}
 * @param problem why the row cannot be decoded as read (a prompt that is not a string, ...), or null
 * @param malformed where and why the line or record could not be read, or null for a row
 */
record PromptRecord(String id, String prompt, String answer, Long seed, String problem, String malformed) {

  /** The input's field (column) names, from {@code input.*-column}; a blank seed field = none. */
  record Fields(String id, String prompt, String answer, String seed) implements Serializable {}

  /** The start of the problem of a record without the prompt field; a whole input of them is refused. */
  static final String NO_PROMPT_FIELD = "the record has no field ";

  /** The normalised input every format is read into; {@code malformed} is set on malformed records only. */
  static final StructType SCHEMA = new StructType()
      .add("id", DataTypes.StringType)
      .add("prompt", DataTypes.StringType)
      .add("answer", DataTypes.StringType)
      .add("seed", DataTypes.LongType)
      .add("input_error", DataTypes.StringType)
      .add("input_hash", DataTypes.StringType)
      .add("malformed", DataTypes.StringType);

  static PromptRecord row(String id, String prompt, String answer, Long seed, String problem) {
    return new PromptRecord(id, prompt, answer, seed, problem, null);
  }

  static PromptRecord malformed(String where, String reason) {
    return new PromptRecord(null, null, null, null, null, where + ": " + reason);
  }

  /**
   * The id a record without one gets: {@code anon-<sha256 of the prompt>} (stable, so resume still
   * keys on it), or of the whole record's text when the prompt is not a string.
   */
  static String anonId(String text) {
    return "anon-" + Sha256.hex(text, 32);
  }

  Row toRow() {
    String hash = malformed == null ? InputRow.inputHash(prompt, answer, seed) : null;
    return RowFactory.create(id, prompt, answer, seed, problem, hash, malformed);
  }

  /** A value for an error message: quoted, and cut short when long. */
  static String shown(String s) {
    return "'" + (s.length() > 80 ? s.substring(0, 77) + "..." : s) + "'";
  }
}
