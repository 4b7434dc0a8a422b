package dev.freedave.generate;

import java.math.BigDecimal;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Whether a completion answers a reference: the text after the last {@code ####} (GSM8K style) if
 * present, else the last number in the completion, compared numerically when both are numbers.
 */
public final class AnswerCheck {
  private static final Pattern NUMBER = Pattern.compile("-?\\d+(?:\\.\\d+)?");

  private AnswerCheck() {}

  public static String extract(String text) {
    // word-level tokenizers decode "46" as "4 6": join digit runs first
    String completion = text.replaceAll("(?<=\\d) (?=\\d)", "");
    int mark = completion.lastIndexOf("####");
    if (mark >= 0) {
      String tail = completion.substring(mark + 4).trim();
      Matcher m = NUMBER.matcher(tail.replace(",", ""));
      return m.find() ? m.group() : tail.split("\\s+")[0];
    }
    Matcher m = NUMBER.matcher(completion.replace(",", ""));
    String last = null;
    while (m.find()) {
      last = m.group();
    }
    return last;
  }

  public static boolean correct(String completion, String reference) {
    String got = extract(completion == null ? "" : completion);
    if (got == null) {
      return false;
    }
    String ref = reference.trim().replace(",", "");
    try {
      return new BigDecimal(got).compareTo(new BigDecimal(ref)) == 0;
    } catch (NumberFormatException e) {
      return got.equals(ref);
    }
  }
}
