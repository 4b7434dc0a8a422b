package dev.freedave.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.jsoup.Jsoup;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;
import org.jsoup.select.Elements;
import org.junit.jupiter.api.Test;

/**
 * report.html of a small real run, as headless Chromium builds its DOM: every chart is there with as
 * many bars or lines as the run's Parquet (read here by Spark directly) says it must have, the tables
 * carry summary.json's numbers, and a resumed run reports what a clean run does.
 */
class ReportTest extends LocalSparkJobTest {
  /** Three drafting configs (two lines against K: dual-cache K = 2, 4; no cache K = 4) and static. */
  static final String SWEEP = "[{decoder = freedave, draft-steps = 2, block-length = 4, gen-length = 8, cache = dual},"
      + " {decoder = freedave, draft-steps = 4, block-length = 4, gen-length = 8, cache = dual},"
      + " {decoder = freedave, draft-steps = 4, block-length = 4, gen-length = 8},"
      + " {decoder = static, block-length = 8, gen-length = 8}]";

  static JobConfig config(Path out) {
    return fx.config(out, Map.of("decoders", SWEEP, "batching.max-rows-in-flight", "3"));
  }

  @Test
  void everyChartHasTheBarsAndLinesOfTheRun() throws Exception {
    Path out = tmp.resolve("run");
    GenerateJob.run(spark, config(out), GenerateJob.CommitListener.NONE);
    Path page = out.resolve("report.html");
    assertThat(page).exists();
    String html = Files.readString(page);
    // self-contained: nothing to fetch, nothing to run
    assertThat(html).doesNotContainPattern("(src|href)\\s*=\\s*['\"]?(https?:|//|file:)").doesNotContain("url(http")
        .doesNotContain("<script src").doesNotContain("<link").doesNotContain("<img").doesNotContain("@import");
    Document dom = Jsoup.parse(Chromium.dumpDom(page));
    JsonObject summary = JsonParser.parseString(Files.readString(out.resolve("summary.json"))).getAsJsonObject();
    JsonArray configs = summary.getAsJsonArray("configs");
    Dataset<Row> rows = spark.read().parquet(out.toString());

    // the summary table: summary.json's numbers, config by config
    Elements trs = dom.select("table#summary tr");
    assertThat(trs).hasSize(1 + configs.size());
    List<String> head = trs.get(0).select("th").eachText();
    for (int i = 0; i < configs.size(); i++) {
      JsonObject c = configs.get(i).getAsJsonObject();
      List<String> cells = trs.get(i + 1).select("td").eachText();
      for (int j = 0; j < head.size(); j++) {
        JsonElement v = c.get(head.get(j));
        if (v.isJsonNull()) {
          assertThat(cells.get(j)).isEqualTo("-");
        } else if (v.getAsJsonPrimitive().isNumber()) {
          assertThat(Double.parseDouble(cells.get(j))).as(head.get(j)).isCloseTo(v.getAsDouble(),
              org.assertj.core.data.Offset.offset(5e-4));
        } else {
          assertThat(cells.get(j)).isEqualTo(v.getAsString());
        }
      }
    }

    for (JsonElement e : configs) {
      JsonObject c = e.getAsJsonObject();
      String hash = c.get("config_hash").getAsString();
      Dataset<Row> ok = rows.where("error is null and config_hash = '" + hash + "'");
      // one bar per NFE value a row had, one per speedup bin
      assertThat(bars(chart(dom, "nfe-per-row", hash))).isEqualTo(ok.select("nfe").distinct().count()).isPositive();
      assertThat(bars(chart(dom, "speedup-per-row", hash)))
          .isEqualTo(ok.selectExpr("floor(static_steps / nfe / 0.25)").distinct().count());
      Elements accepted = dom.select("figure[data-chart=accepted-chains][data-config=" + hash + "]");
      if (c.get("draft_steps").isJsonNull()) {
        assertThat(accepted).isEmpty();
      } else { // one bar per chain length 1..K
        assertThat(accepted).hasSize(1);
        assertThat(bars(accepted.first())).isEqualTo(c.get("draft_steps").getAsInt());
      }
    }

    // against K: one line per (decoder, block length, cache) of the drafting configs
    Set<String> lines = Set.of("freedave block 4 cache dual", "freedave block 4 cache none");
    for (String kind : List.of("speedup-vs-k", "tokens-per-s-vs-k")) {
      Element fig = dom.selectFirst("figure[data-chart=" + kind + "]");
      assertThat(fig).isNotNull();
      Set<String> texts = new HashSet<>(fig.select("text").eachText());
      assertThat(texts).containsAll(lines);
      assertThat(texts.stream().filter(t -> t.startsWith("freedave block"))).hasSize(lines.size());
    }

    // exact match and accuracy: a bar for each value summary.json has
    long values = 0;
    for (JsonElement e : configs) {
      values += e.getAsJsonObject().get("exact_match").isJsonNull() ? 0 : 1;
      values += e.getAsJsonObject().get("accuracy").isJsonNull() ? 0 : 1;
    }
    assertThat(bars(dom.selectFirst("figure[data-chart=exact-and-accuracy]"))).isEqualTo(values).isGreaterThan(4);

    // errors: one line per message, its row count and up to three ids, as the Parquet has them
    Map<String, Long> expected = new TreeMap<>();
    for (Row r : rows.where("error is not null").groupBy("error").count().collectAsList()) {
      expected.put(r.getString(0), r.getLong(1));
    }
    Map<String, Long> shown = new TreeMap<>();
    for (Element tr : dom.select("table#errors tr:has(td)")) {
      List<String> td = tr.select("td").eachText();
      shown.put(td.get(0), Long.parseLong(td.get(1)));
      List<String> ids = List.of(td.get(2).split(", "));
      assertThat(ids).hasSizeBetween(1, RunReport.EXAMPLES).isSorted();
      assertThat(rows.where(org.apache.spark.sql.functions.col("error").equalTo(td.get(0))
          .and(org.apache.spark.sql.functions.col("id").isin(ids.toArray()))).select("id").distinct().count())
          .isEqualTo(ids.size());
    }
    assertThat(shown).isEqualTo(expected).hasSize(2); // empty and null prompts share one message

    // the PNG for docs/ comes from the same browser: a page with something on it
    Path png = tmp.resolve("report.png");
    Chromium.screenshot(page, png, 1280, 2000);
    assertThat(Files.size(png)).isGreaterThan(20_000);
  }

  @Test
  void aResumedRunReportsWhatACleanRunDoes() throws Exception {
    Path clean = tmp.resolve("clean");
    GenerateJob.run(spark, config(clean), GenerateJob.CommitListener.NONE);
    Path resumed = tmp.resolve("resumed");
    GenerateJob.CommitListener crashAfterFirst = (config, hash) -> {
      throw new IllegalStateException("injected failure after " + config.label());
    };
    assertThatThrownBy(() -> GenerateJob.run(spark, config(resumed), crashAfterFirst))
        .hasMessageContaining("injected failure");
    GenerateJob.run(spark, config(resumed), GenerateJob.CommitListener.NONE);
    assertThat(numbers(resumed)).isEqualTo(numbers(clean));
    assertThat(numbers(clean).getAsJsonObject("summary").getAsJsonArray("configs")).hasSize(4);
  }

  /** The report's embedded numbers without what differs between runs of the same rows: timings and this run's counts. */
  private static JsonObject numbers(Path out) throws Exception {
    Element data = Jsoup.parse(Files.readString(out.resolve("report.html"))).getElementById("report-data");
    JsonObject o = JsonParser.parseString(data.data()).getAsJsonObject();
    JsonObject s = o.getAsJsonObject("summary");
    s.remove("forward_calls_this_run");
    s.remove("forward_calls_vetoed_this_run");
    s.remove("model_loads_by_jvm");
    for (JsonElement c : s.getAsJsonArray("configs")) {
      c.getAsJsonObject().remove("tokens_per_s");
    }
    return o;
  }

  private static Element chart(Document dom, String kind, String hash) {
    Elements figs = dom.select("figure[data-chart=" + kind + "][data-config=" + hash + "]");
    assertThat(figs).as(kind + " of " + hash).hasSize(1);
    return figs.first();
  }

  /** Bars JFreeSVG drew: each is a group tagged with the data item it shows ({"rowKey": ..., "columnKey": ...}). */
  private static long bars(Element figure) {
    assertThat(figure.select("svg")).hasSize(1);
    return figure.getAllElements().stream().filter(el -> el.attr("jfreesvg:ref").startsWith("{\"rowKey\"")).count();
  }
}
