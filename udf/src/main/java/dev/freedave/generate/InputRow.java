package dev.freedave.generate;

/**
 * One prompt as read from the input dataset.
 *
 * @param answer reference answer, or null
 * @param seed sampling seed, or null (then derived from the id)
 * @param problem why this row cannot be decoded as read (a prompt that is not a string, ...), or null;
 *     such a row is written as an error row with this message
 */
public record InputRow(String id, String prompt, String answer, Long seed, String problem) {
  long seedOrDefault() {
    return seed != null ? seed : (id == null ? 0 : id.hashCode());
  }

  /** {@link #inputHash(String, String, Long)} of this row. */
  public String inputHash() {
    return inputHash(prompt, answer, seed);
  }

  /**
   * What of a row, besides its id, decides its output row: the prompt (the tokens), the answer
   * ({@code correct}) and the seed (sampling). Resume keeps an output row only while this matches.
   * Each field is length-prefixed, so null, "" and shifted boundaries all hash differently.
   */
  public static String inputHash(String prompt, String answer, Long seed) {
    StringBuilder b = new StringBuilder();
    for (String f : new String[] {prompt, answer, seed == null ? null : seed.toString()}) {
      b.append(f == null ? "-" : f.length() + ":" + f).append('|');
    }
    return Sha256.hex(b.toString(), 16);
  }
}
