package dev.freedave.tools.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A deterministic generator of GSM8K-shaped word problems: a short story with 2–4 operations on
 * small numbers, a worked step-by-step solution, and a final {@code #### <answer>} line. Problem
 * {@code i} of a split depends only on (split seed, i), so train and held-out test never mix.
 */
public final class ArithmeticProblems {
  /** Seeds of the two splits. */
  public static final long TRAIN_SEED = 1;
  public static final long TEST_SEED = 2;

  /** One problem: the prompt text, the solution text (ending in "#### n") and the answer. */
  public record Problem(String prompt, String solution, int answer) {}

  static final String[] NAMES = {"tom", "ann", "sam", "mia", "leo", "eva", "max", "zoe"};
  static final String[] THINGS = {"apples", "coins", "books", "cards", "marbles", "stickers", "pens", "shells"};
  static final String[] GAIN = {"buys", "finds", "gets", "wins"};
  static final String[] LOSS = {"gives away", "loses", "sells", "eats"};

  private ArithmeticProblems() {}

  public static Problem generate(long splitSeed, long index) {
    Random r = new Random(splitSeed * 0x9E3779B97F4A7C15L + index * 0xBF58476D1CE4E5B9L);
    String name = NAMES[r.nextInt(NAMES.length)];
    String thing = THINGS[r.nextInt(THINGS.length)];
    int value = 2 + r.nextInt(19);
    int ops = 2 + r.nextInt(3);
    StringBuilder story = new StringBuilder(name + " has " + value + " " + thing + " .");
    List<String> steps = new ArrayList<>();
    for (int i = 0; i < ops; i++) {
      int kind = r.nextInt(value > 30 ? 2 : 3); // no products once numbers grow
      int next;
      String sentence;
      String step;
      if (kind == 0) {
        int n = 1 + r.nextInt(20);
        next = value + n;
        sentence = " then " + name + " " + GAIN[r.nextInt(GAIN.length)] + " " + n + " more .";
        step = value + " + " + n + " = " + next;
      } else if (kind == 1 && value > 1) {
        int n = 1 + r.nextInt(Math.min(value - 1, 20));
        next = value - n;
        sentence = " then " + name + " " + LOSS[r.nextInt(LOSS.length)] + " " + n + " .";
        step = value + " - " + n + " = " + next;
      } else {
        int n = 2 + r.nextInt(2);
        next = value * n;
        sentence = " then the number of " + thing + " grows " + n + " times .";
        step = value + " * " + n + " = " + next;
      }
      story.append(sentence);
      steps.add(step);
      value = next;
    }
    story.append(" how many ").append(thing).append(" does ").append(name).append(" have now ? answer :");
    String solution = String.join(" . ", steps) + " . #### " + value;
    return new Problem(story.toString(), solution, value);
  }

  /** Every word the generator can emit, digits and symbols included, in a fixed order. */
  public static List<String> vocabulary() {
    List<String> words = new ArrayList<>();
    for (int d = 0; d <= 9; d++) {
      words.add(Integer.toString(d));
    }
    words.addAll(List.of("+", "-", "*", "=", ".", "?", ":", "####", "has", "then", "more", "the", "number", "of",
        "grows", "times", "how", "many", "does", "have", "now", "answer", "away"));
    for (String[] group : new String[][] {NAMES, THINGS, GAIN, LOSS}) {
      for (String w : group) {
        for (String part : w.split(" ")) {
          if (!words.contains(part)) {
            words.add(part);
          }
        }
      }
    }
    return words;
  }
}
