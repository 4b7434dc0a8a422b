package dev.freedave.job;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.geom.Rectangle2D;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.jfree.svg.SVGGraphics2D;

/**
 * report.html: one self-contained page (inline SVG, no script, nothing fetched) from a {@link RunReport}.
 * The charts are JFreeChart's, drawn into JFreeSVG's SVG graphics: both are plain Java (no browser or
 * native code on the driver), on Maven Central, maintained by the same author for two decades, and
 * JFreeSVG tags every bar it draws with the item it shows ({@code jfreesvg:ref}), which is what the
 * report's test counts in the browser's DOM.
 */
final class ReportPage {
  private static final int SMALL_W = 380;
  private static final int SMALL_H = 240;
  private static final int WIDE_W = 620;
  private static final int WIDE_H = 320;
  private static final Color BAR = new Color(0x3b6ea5);
  private static final Font FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 11);

  private final StringBuilder b = new StringBuilder();
  private int charts;

  private ReportPage() {}

  static String html(RunReport report, String out) {
    ReportPage p = new ReportPage();
    p.page(report, out);
    return p.b.toString();
  }

  private void page(RunReport r, String out) {
    RunSummary s = r.summary();
    b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>FreeDave run report</title>\n")
        .append("<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;")
        .append("font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#eee}")
        .append("td.text{text-align:left}figure{display:inline-block;margin:6px 10px 12px 0;vertical-align:top}")
        .append("figcaption{font-size:12px;text-align:center}.warn{color:#a40}</style></head><body>\n");
    b.append("<h1>FreeDave run report</h1>\n<p>output <code>").append(esc(out)).append("</code>: ")
        .append(s.rows()).append(" input rows, ").append(s.errors()).append(" row errors, ")
        .append(s.malformedLines()).append(" malformed input lines; ").append(s.forwardCalls())
        .append(" forward calls in this run (a resumed run counts only its own; ").append(s.forwardCallsVetoed())
        .append(" of them with FreeDave's drafts held back by the draft budget). Computed from the Parquet "
            + "written, like summary.json.</p>\n");
    for (String w : s.warnings()) {
      b.append("<p class=\"warn\">WARNING: ").append(esc(w)).append("</p>\n");
    }
    summaryTable(s);
    perConfigCharts(r);
    draftCharts(s);
    acceptedCharts(r);
    qualityChart(r);
    errors(r, s);
    b.append("<script type=\"application/json\" id=\"report-data\">").append(r.json().replace("</", "<\\/"))
        .append("</script>\n</body></html>\n");
  }

  private void summaryTable(RunSummary s) {
    b.append("<h2>Summary</h2>\n<table id=\"summary\"><tr>");
    List<String> keys = s.configs().isEmpty() ? List.of() : new ArrayList<>(s.configs().get(0).keySet());
    for (String k : keys) {
      b.append("<th>").append(esc(k)).append("</th>");
    }
    b.append("</tr>\n");
    for (Map<String, Object> c : s.configs()) {
      b.append("<tr>");
      for (String k : keys) {
        Object v = c.get(k);
        boolean text = !(v instanceof Number);
        b.append(text ? "<td class=\"text\">" : "<td>").append(esc(cell(v))).append("</td>");
      }
      b.append("</tr>\n");
    }
    b.append("</table>\n<p>tokens_per_s: per-row decode throughput (rows of a batch overlap in time; not the "
        + "job's wall rate).</p>\n");
  }

  private void perConfigCharts(RunReport r) {
    b.append("<h2>Forward calls per row</h2>\n");
    for (RunReport.ConfigDetail c : r.configs()) {
      figure("nfe-per-row", c.configHash(), bars(c.nfePerRow(), String::valueOf, "NFE (forward calls) of a row", "rows"),
          c.label(), SMALL_W, SMALL_H);
    }
    b.append("<h2>Speedup per row: static steps / NFE</h2>\n");
    for (RunReport.ConfigDetail c : r.configs()) {
      figure("speedup-per-row", c.configHash(), bars(c.speedupPerRow(),
          lower -> String.format(Locale.ROOT, "%.2f", lower), "static_steps / nfe of a row (bin's lower edge)", "rows"),
          c.label(), SMALL_W, SMALL_H);
    }
  }

  /** NFE speedup and tokens/s against K, one line per drafting decoder, block length and cache. */
  private void draftCharts(RunSummary s) {
    Map<String, XYSeries> speedup = new LinkedHashMap<>();
    Map<String, XYSeries> rate = new LinkedHashMap<>();
    for (Map<String, Object> c : s.configs()) {
      if (!(c.get("draft_steps") instanceof Integer k)) {
        continue;
      }
      String line = c.get("decoder") + " block " + c.get("block_length") + " cache " + c.get("cache");
      if (c.get("nfe_speedup") instanceof Double v) {
        speedup.computeIfAbsent(line, XYSeries::new).add(k, v);
      }
      if (c.get("tokens_per_s") instanceof Double v) {
        rate.computeIfAbsent(line, XYSeries::new).add(k, v);
      }
    }
    if (speedup.isEmpty()) {
      return;
    }
    b.append("<h2>Against the draft steps K</h2>\n");
    figure("speedup-vs-k", null, lines(speedup, "NFE speedup (static steps / NFE)"), "NFE speedup against K", WIDE_W,
        WIDE_H);
    figure("tokens-per-s-vs-k", null, lines(rate, "tokens/s (per-row decode time)"), "tokens/s against K", WIDE_W,
        WIDE_H);
  }

  private void acceptedCharts(RunReport r) {
    boolean any = false;
    for (RunReport.ConfigDetail c : r.configs()) {
      if (c.acceptedChains() == null) {
        continue;
      }
      if (!any) {
        b.append("<h2>Accepted chains: rounds by the static steps they advanced</h2>\n");
        any = true;
      }
      Map<Integer, Long> rounds = new LinkedHashMap<>();
      for (int i = 1; i < c.acceptedChains().length; i++) {
        rounds.put(i, c.acceptedChains()[i]);
      }
      figure("accepted-chains", c.configHash(), bars(rounds, String::valueOf, "static steps one round advanced",
          "rounds"), c.label(), SMALL_W, SMALL_H);
    }
  }

  private void qualityChart(RunReport r) {
    DefaultCategoryDataset d = new DefaultCategoryDataset();
    for (int i = 0; i < r.configs().size(); i++) {
      Map<String, Object> c = r.summary().configs().get(i); // the same order as r.configs()
      String name = (i + 1) + ". " + r.configs().get(i).label();
      if (c.get("exact_match") instanceof Double v) {
        d.addValue(v, "exact match vs static", name);
      }
      if (c.get("accuracy") instanceof Double v) {
        d.addValue(v, "accuracy", name);
      }
    }
    if (d.getRowCount() == 0) {
      return;
    }
    JFreeChart chart = ChartFactory.createBarChart(null, null, "fraction of rows", d, PlotOrientation.HORIZONTAL,
        true, false, false);
    CategoryPlot plot = chart.getCategoryPlot();
    plot.getRangeAxis().setRange(0, 1.05);
    plot.getDomainAxis().setMaximumCategoryLabelWidthRatio(0.45f); // config labels in full
    flatBars(plot).setItemMargin(0.05);
    b.append("<h2>Exact match and accuracy</h2>\n");
    figure("exact-and-accuracy", null, chart, "exact match vs the static audit, accuracy vs the answers",
        WIDE_W, 90 + 34 * d.getColumnCount());
  }

  private void errors(RunReport r, RunSummary s) {
    b.append("<h2>Errors</h2>\n");
    if (r.errors().isEmpty()) {
      b.append("<p>No row failed.</p>\n");
    } else {
      b.append("<table id=\"errors\"><tr><th>error</th><th>rows</th><th>example ids</th><th>configs</th></tr>\n");
      for (RunReport.ErrorGroup e : r.errors()) {
        b.append("<tr><td class=\"text\">").append(esc(e.message())).append("</td><td>").append(e.rows())
            .append("</td><td class=\"text\">").append(esc(String.join(", ", e.exampleIds())))
            .append("</td><td class=\"text\">").append(esc(String.join(", ", e.configs()))).append("</td></tr>\n");
      }
      b.append("</table>\n");
    }
    if (!s.malformedExamples().isEmpty()) {
      b.append("<p>Malformed input lines (not decoded, ").append(s.malformedLines()).append(" in all):</p><ul>");
      for (String m : s.malformedExamples()) {
        b.append("<li>").append(esc(m)).append("</li>");
      }
      b.append("</ul>\n");
    }
  }

  /**
   * A histogram as bars over categories, one per value that occurs (labels from {@code label}, in
   * the map's order): category bars are the ones JFreeChart tags item by item for JFreeSVG.
   */
  private static <K> JFreeChart bars(Map<K, Long> counts, Function<K, String> label, String x, String y) {
    DefaultCategoryDataset d = new DefaultCategoryDataset();
    counts.forEach((k, n) -> d.addValue(n, y, label.apply(k)));
    JFreeChart chart = ChartFactory.createBarChart(null, x, y, d, PlotOrientation.VERTICAL, false, false, false);
    CategoryPlot plot = chart.getCategoryPlot();
    BarRenderer renderer = flatBars(plot);
    renderer.setSeriesPaint(0, BAR);
    renderer.setMaximumBarWidth(0.08);
    plot.getRangeAxis().setStandardTickUnits(NumberAxis.createIntegerTickUnits());
    if (d.getColumnCount() > 12) {
      plot.getDomainAxis().setCategoryLabelPositions(CategoryLabelPositions.UP_90);
    }
    plot.getDomainAxis().setTickLabelFont(FONT);
    plot.getDomainAxis().setLabelFont(FONT);
    plot.getRangeAxis().setLabelFont(FONT);
    return chart;
  }

  /** Plain bars on a white plot with light value gridlines; the renderer, for the caller's own settings. */
  private static BarRenderer flatBars(CategoryPlot plot) {
    BarRenderer renderer = (BarRenderer) plot.getRenderer();
    renderer.setBarPainter(new StandardBarPainter());
    renderer.setShadowVisible(false);
    plot.setBackgroundPaint(Color.WHITE);
    plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
    return renderer;
  }

  private static JFreeChart lines(Map<String, XYSeries> series, String y) {
    XYSeriesCollection d = new XYSeriesCollection();
    series.values().forEach(d::addSeries);
    JFreeChart chart = ChartFactory.createXYLineChart(null, "draft steps K", y, d, PlotOrientation.VERTICAL, true,
        false, false);
    XYPlot plot = chart.getXYPlot();
    XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
    for (int i = 0; i < d.getSeriesCount(); i++) {
      renderer.setSeriesStroke(i, new BasicStroke(2f));
    }
    plot.setRenderer(renderer);
    plot.getDomainAxis().setStandardTickUnits(NumberAxis.createIntegerTickUnits());
    style(plot);
    return chart;
  }

  private static void style(XYPlot plot) {
    plot.setBackgroundPaint(Color.WHITE);
    plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
    plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
    plot.getDomainAxis().setLabelFont(FONT);
    plot.getRangeAxis().setLabelFont(FONT);
  }

  /** The chart as inline SVG in a figure; each chart gets its own id prefix so the pages' defs never clash. */
  private void figure(String kind, String config, JFreeChart chart, String caption, int w, int h) {
    chart.setBackgroundPaint(Color.WHITE);
    chart.setElementHinting(true); // each data item in its own <g jfreesvg:ref='{...}'>
    SVGGraphics2D g = new SVGGraphics2D(w, h);
    g.setDefsKeyPrefix("c" + charts + "-");
    chart.draw(g, new Rectangle2D.Double(0, 0, w, h));
    b.append("<figure class=\"chart\" data-chart=\"").append(kind).append('"');
    if (config != null) {
      b.append(" data-config=\"").append(esc(config)).append('"');
    }
    b.append('>').append(g.getSVGElement("chart-" + charts)).append("<figcaption>").append(esc(caption))
        .append("</figcaption></figure>\n");
    charts++;
  }

  private static String cell(Object v) {
    if (v == null) {
      return "-";
    }
    if (v instanceof Double d) {
      return String.format(Locale.ROOT, "%.3f", d);
    }
    return v.toString();
  }

  private static String esc(String s) {
    StringBuilder o = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&' -> o.append("&amp;");
        case '<' -> o.append("&lt;");
        case '>' -> o.append("&gt;");
        case '"' -> o.append("&quot;");
        case '\'' -> o.append("&#39;");
        default -> o.append(c);
      }
    }
    return o.toString();
  }
}
