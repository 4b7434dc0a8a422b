package dev.freedave.job;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a CSV file (RFC 4180: a header row, comma-separated, {@code "}-quoted fields that may span
 * lines, {@code ""} for a quote inside one) into {@link PromptRecord}s. Strict where a lenient reader
 * silently loses rows: after a closing quote only a comma or the end of the line may follow, and a
 * quote that is never closed is an error. Either makes that record malformed, and reading resumes at
 * the line after the one it started on, so an unclosed quote costs its own record only. (A stray
 * quote whose next quote happens to sit right before a comma still reads as one legal multi-line
 * field: no reader can tell the two apart.)
 */
final class CsvRecords {
  private CsvRecords() {}

  /** Why a record does not parse. */
  private static final class Malformed extends Exception {
    Malformed(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * Every record of one file, malformed ones included, in file order.
   *
   * @throws IllegalArgumentException when the header is unusable (empty, unparseable, a repeated name):
   *     the whole file could not be read as meant
   */
  static List<PromptRecord> parse(String text, String file, PromptRecord.Fields f) {
    String s = text.startsWith("\uFEFF") ? text.substring(1) : text;
    Cursor c = new Cursor(s);
    List<String> header;
    try {
      header = c.record();
    } catch (Malformed e) {
      throw new IllegalArgumentException("CSV file " + file + ": cannot read its header: " + e.getMessage());
    }
    if (header == null || header.size() == 1 && header.get(0).isBlank()) {
      throw new IllegalArgumentException("CSV file " + file + " has no header row");
    }
    Map<String, Integer> columns = new HashMap<>();
    for (int i = 0; i < header.size(); i++) {
      if (columns.put(header.get(i), i) != null) {
        throw new IllegalArgumentException("CSV file " + file + ": the header names '" + header.get(i) + "' twice");
      }
    }
    List<PromptRecord> out = new ArrayList<>();
    while (!c.atEnd()) {
      int line = c.line;
      int start = c.pos;
      List<String> fields;
      try {
        fields = c.record();
      } catch (Malformed e) {
        out.add(PromptRecord.malformed(file + ":" + line, e.getMessage()));
        c.restartAfterLine(start, line);
        continue;
      }
      if (fields.size() == 1 && fields.get(0).isEmpty()) {
        continue; // a blank line
      }
      if (fields.size() != header.size()) {
        out.add(PromptRecord.malformed(file + ":" + line, fields.size() + " fields where the header has "
            + header.size()));
        continue;
      }
      out.add(record(fields, columns, header, f, s.substring(start, c.pos)));
    }
    return out;
  }

  private static PromptRecord record(List<String> fields, Map<String, Integer> columns, List<String> header,
      PromptRecord.Fields f, String text) {
    String problem = null;
    String prompt = cell(fields, columns, f.prompt());
    if (!columns.containsKey(f.prompt())) {
      problem = PromptRecord.NO_PROMPT_FIELD + "'" + f.prompt() + "'" + JsonLines.caseHint(header, f.prompt())
          + " (its fields: " + String.join(", ", header) + ")";
    }
    String id = cell(fields, columns, f.id());
    if (id == null || id.isEmpty()) {
      id = PromptRecord.anonId(prompt != null ? prompt : text);
    }
    String answer = cell(fields, columns, f.answer());
    String seedText = f.seed().isBlank() ? null : cell(fields, columns, f.seed());
    Long seed = null;
    if (seedText != null && !seedText.isEmpty()) {
      seed = JsonLines.parseSeed(seedText);
      if (seed == null && problem == null) {
        problem = "seed must be an integer, got " + PromptRecord.shown(seedText);
      }
    }
    return PromptRecord.row(id, prompt, answer == null || answer.isEmpty() ? null : answer, seed, problem);
  }

  private static String cell(List<String> fields, Map<String, Integer> columns, String name) {
    Integer i = columns.get(name);
    return i == null ? null : fields.get(i);
  }

  /** A position in the text and the line it is on (1-based). */
  private static final class Cursor {
    private final String s;
    int pos;
    int line = 1;

    Cursor(String s) {
      this.s = s;
    }

    boolean atEnd() {
      return pos >= s.length();
    }

    /** The fields of the record at the cursor, which ends after its line break; null at the end. */
    List<String> record() throws Malformed {
      if (atEnd()) {
        return null;
      }
      int startLine = line;
      List<String> fields = new ArrayList<>();
      while (true) {
        StringBuilder b = new StringBuilder();
        if (pos < s.length() && s.charAt(pos) == '"') {
          pos++;
          while (true) {
            if (pos >= s.length()) {
              throw new Malformed("a quoted field opened on line " + startLine + " is never closed");
            }
            char ch = s.charAt(pos++);
            if (ch == '"') {
              if (pos < s.length() && s.charAt(pos) == '"') {
                b.append('"');
                pos++;
                continue;
              }
              break;
            }
            if (ch == '\n') {
              line++;
            }
            b.append(ch);
          }
          if (pos < s.length() && ",\r\n".indexOf(s.charAt(pos)) < 0) {
            throw new Malformed("a closing quote is followed by " + PromptRecord.shown(String.valueOf(s.charAt(pos)))
                + " (an unescaped quote inside a quoted field?)");
          }
        } else {
          while (pos < s.length() && ",\r\n".indexOf(s.charAt(pos)) < 0) {
            b.append(s.charAt(pos++));
          }
        }
        fields.add(b.toString());
        if (pos >= s.length()) {
          return fields;
        }
        char sep = s.charAt(pos++);
        if (sep == ',') {
          continue;
        }
        if (sep == '\r' && pos < s.length() && s.charAt(pos) == '\n') {
          pos++;
        }
        line++;
        return fields;
      }
    }

    /** Moves to the start of the line after {@code startLine}, which begins at {@code start}. */
    void restartAfterLine(int start, int startLine) {
      pos = start;
      while (pos < s.length() && "\r\n".indexOf(s.charAt(pos)) < 0) {
        pos++;
      }
      if (pos < s.length() && s.charAt(pos++) == '\r' && pos < s.length() && s.charAt(pos) == '\n') {
        pos++;
      }
      line = startLine + 1;
    }
  }
}
