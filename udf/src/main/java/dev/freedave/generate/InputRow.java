package dev.freedave.generate;

/**
 * One prompt as read from the input dataset.
 *
 * @param answer reference answer, or null
 * @param seed sampling seed, or null (then derived from the id)
 */
public record InputRow(String id, String prompt, String answer, Long seed) {
  long seedOrDefault() {
    return seed != null ? seed : (id == null ? 0 : id.hashCode());
  }
}
