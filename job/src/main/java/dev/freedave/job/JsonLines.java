package dev.freedave.job;

import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import java.io.IOException;
import java.io.StringReader;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads one line of a JSON Lines input into a {@link PromptRecord}. Our own reader, not Spark's
 * schema inference: inference makes a column's type depend on the other lines (an id {@code 2}
 * comes back {@code 2.0} once any id is a float; a prompt {@code 13} becomes {@code "13.0"}), and a
 * repeated key or keys differing only in case abort the whole read. Here every line stands alone:
 * ids and answers keep their exact input text, a prompt that is not a string is that row's error, and
 * a line that is not one JSON object (or repeats a key) is malformed.
 */
final class JsonLines {
  private JsonLines() {}

  /** Where Gson's message says the error is; the rest of its message is advice for Gson's users. */
  private static final Pattern COLUMN = Pattern.compile("column (\\d+)");

  /** What a field held: its JSON kind, and for a scalar its exact text. */
  private record Value(JsonToken kind, String text) {
    String kindName() {
      return switch (kind) {
        case STRING -> "a string";
        case NUMBER -> "a number";
        case BOOLEAN -> "a boolean";
        case NULL -> "null";
        case BEGIN_ARRAY -> "an array";
        default -> "an object";
      };
    }
  }

  /**
   * The record of one line, or null for a blank line.
   *
   * @param where the line's place (file, line), named when it is malformed
   */
  static PromptRecord parse(String line, String where, PromptRecord.Fields f) {
    String text = line.startsWith("\uFEFF") ? line.substring(1) : line;
    if (text.isBlank()) {
      return null;
    }
    Map<String, Value> fields = new LinkedHashMap<>();
    try (JsonReader r = new JsonReader(new StringReader(text))) {
      r.setStrictness(Strictness.STRICT);
      if (r.peek() != JsonToken.BEGIN_OBJECT) {
        return PromptRecord.malformed(where, "not a JSON object: " + PromptRecord.shown(text.strip()));
      }
      r.beginObject();
      while (r.hasNext()) {
        String name = r.nextName();
        if (fields.put(name, value(r)) != null) {
          return PromptRecord.malformed(where, "the key '" + name + "' occurs twice");
        }
      }
      r.endObject();
      if (r.peek() != JsonToken.END_DOCUMENT) {
        return PromptRecord.malformed(where, "text after the JSON object");
      }
    } catch (IOException | IllegalStateException | NumberFormatException e) {
      Matcher at = COLUMN.matcher(String.valueOf(e.getMessage()));
      return PromptRecord.malformed(where, "not valid JSON" + (at.find() ? " (at column " + at.group(1) + ")" : "")
          + ": " + PromptRecord.shown(text.strip()));
    }
    return record(fields, text, f);
  }

  private static Value value(JsonReader r) throws IOException {
    JsonToken kind = r.peek();
    return switch (kind) {
      case STRING, NUMBER -> new Value(kind, r.nextString()); // a number's text exactly as written
      case BOOLEAN -> new Value(kind, Boolean.toString(r.nextBoolean()));
      case NULL -> {
        r.nextNull();
        yield new Value(kind, null);
      }
      default -> {
        r.skipValue();
        yield new Value(kind, null);
      }
    };
  }

  private static PromptRecord record(Map<String, Value> fields, String line, PromptRecord.Fields f) {
    String problem = null;
    Value p = fields.get(f.prompt());
    String prompt = null;
    if (p == null) {
      problem = PromptRecord.NO_PROMPT_FIELD + "'" + f.prompt() + "'" + caseHint(fields.keySet(), f.prompt())
          + " (its fields: " + String.join(", ", fields.keySet()) + ")";
    } else if (p.kind() == JsonToken.STRING) {
      prompt = p.text();
    } else if (p.kind() != JsonToken.NULL) {
      problem = "prompt must be a string, got " + p.kindName() + (p.text() == null ? "" : " " + p.text());
    }

    Value i = fields.get(f.id());
    String id = null;
    if (i != null && (i.kind() == JsonToken.STRING || i.kind() == JsonToken.NUMBER)) {
      id = i.text();
    } else if (i != null && i.kind() != JsonToken.NULL) {
      problem = first(problem, "id must be a string or a number, got " + i.kindName());
    }
    if (id == null) {
      id = PromptRecord.anonId(prompt != null ? prompt : line);
    }

    Value a = fields.get(f.answer());
    String answer = null;
    if (a != null && a.kind() != JsonToken.NULL) {
      if (a.text() == null) {
        problem = first(problem, "answer must be a string or a number, got " + a.kindName());
      } else {
        answer = a.text();
      }
    }

    Long seed = null;
    Value s = f.seed().isBlank() ? null : fields.get(f.seed());
    if (s != null && s.kind() != JsonToken.NULL) {
      seed = s.kind() == JsonToken.NUMBER ? parseSeed(s.text()) : null;
      if (seed == null) {
        problem = first(problem, "seed must be an integer, got " + s.kindName() + (s.text() == null ? "" : " "
            + s.text()));
      }
    }
    return PromptRecord.row(id, prompt, answer, seed, problem);
  }

  /** The seed's value when its text is a 64-bit integer; null otherwise (1.5, 1e3, 2^64). */
  static Long parseSeed(String text) {
    try {
      return Long.parseLong(text.strip());
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** Names a field that differs from the wanted name only in case: field names are case-sensitive. */
  static String caseHint(Iterable<String> names, String wanted) {
    for (String n : names) {
      if (n.toLowerCase(Locale.ROOT).equals(wanted.toLowerCase(Locale.ROOT))) {
        return "; '" + n + "' differs only in case, and names are case-sensitive";
      }
    }
    return "";
  }

  private static String first(String a, String b) {
    return a != null ? a : b;
  }
}
