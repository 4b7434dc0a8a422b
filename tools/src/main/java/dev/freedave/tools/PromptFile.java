package dev.freedave.tools;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Prompts from a JSONL file ({@code id}, {@code prompt}, optional {@code answer}) or plain text lines. */
public final class PromptFile {
  private PromptFile() {}

  /** One prompt; {@code answer} may be null. */
  public record Prompt(String id, String text, String answer) {}

  public static List<Prompt> read(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return read(in);
    }
  }

  /** The prompts bundled with the project. */
  public static List<Prompt> samples() throws IOException {
    try (InputStream in = PromptFile.class.getResourceAsStream("/freedave/sample-prompts.jsonl")) {
      return read(in);
    }
  }

  private static List<Prompt> read(InputStream in) throws IOException {
    List<Prompt> out = new ArrayList<>();
    BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
    String line;
    int n = 0;
    while ((line = r.readLine()) != null) {
      n++;
      if (line.isBlank()) {
        continue;
      }
      if (line.trim().startsWith("{")) {
        JsonObject o = JsonParser.parseString(line).getAsJsonObject();
        String id = o.has("id") ? o.get("id").getAsString() : "line-" + n;
        String answer = o.has("answer") && !o.get("answer").isJsonNull() ? o.get("answer").getAsString() : null;
        out.add(new Prompt(id, o.get("prompt").getAsString(), answer));
      } else {
        out.add(new Prompt("line-" + n, line, null));
      }
    }
    return out;
  }
}
