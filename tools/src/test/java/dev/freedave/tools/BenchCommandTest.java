package dev.freedave.tools;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The bench on the embedded demo model, two caches and two row counts taking turns: every cell is
 * reported once, in the order asked for, FreeDave equal to static in every pass, each cache compared
 * with static without a cache; the forwards by shape add up to the run's forwards.
 */
class BenchCommandTest {
  @Test
  void everyCellOfBothCachesIsMeasuredAndFreeDaveEqualsStatic() throws Exception {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    PrintStream out = System.out;
    System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
    int rc;
    try {
      rc = new CommandLine(new BenchCommand()).execute("--limit", "2", "--cache", "none,dual", "--rows", "1,2",
          "--k", "2", "--k-report", "2", "--gen-length", "16", "--block-length", "8", "--decoders", "static,freedave",
          "--trials", "2", "--shape-times", "50");
    } finally {
      System.setOut(out);
    }
    assertThat(rc).isZero();
    List<String> lines = buf.toString(StandardCharsets.UTF_8).lines().toList();
    JsonObject json = JsonParser.parseString(lines.get(lines.size() - 1)).getAsJsonObject();
    JsonArray cells = json.getAsJsonArray("cells");
    assertThat(cells).hasSize(4);
    String[] order = {"none 1", "dual 1", "none 2", "dual 2"};
    for (int i = 0; i < 4; i++) {
      JsonObject c = cells.get(i).getAsJsonObject();
      assertThat(c.get("cache").getAsString() + " " + c.get("rows_in_flight").getAsInt()).isEqualTo(order[i]);
      assertThat(c.get("exact_match").getAsDouble()).isEqualTo(1.0);
      assertThat(c.get("static_over_nocache_static_tokens_per_s").getAsDouble()).isPositive();
    }
    assertThat(json.getAsJsonArray("runs").get(1).getAsJsonObject().getAsJsonArray("trialWallS")).hasSize(2);
    // the table: one line per run, static's tokens at 2 rows equal to those at 1 row under each cache
    List<String> table = lines.stream().filter(l -> l.startsWith("none ") || l.startsWith("dual ")).toList();
    assertThat(table).hasSize(8).allSatisfy(l -> assertThat(l).endsWith("1.000"));
    // --shape-times: a block per run; static without a cache at 1 row makes one forward a step, so its
    // shapes' counts add up to its forwards, and each of static's shapes is its own "static" column
    int header = lines.indexOf(lines.stream().filter(l -> l.startsWith("shapes none rows=1 static")).findFirst()
        .orElseThrow());
    assertThat(lines.stream().filter(l -> l.startsWith("shapes "))).hasSize(8);
    assertThat(lines.get(header)).endsWith("static's forwards / that 1.00"); // static re-priced at itself
    long forwards = 0;
    for (String l : lines.subList(header + 1, lines.size())) {
      if (!l.startsWith("  ")) {
        break;
      }
      String[] f = l.trim().split("\\s+");
      forwards += Long.parseLong(f[0]);
      assertThat(f[2]).isEqualTo(f[7]); // mean ms, and static's mean for the same shape
    }
    assertThat(forwards).isEqualTo(json.getAsJsonArray("runs").get(0).getAsJsonObject().get("nfe").getAsLong())
        .isPositive();
  }
}
