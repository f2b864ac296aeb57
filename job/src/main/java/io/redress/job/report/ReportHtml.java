package io.redress.job.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * report.html: one self-contained page (no network): summary figures, per-category and
 * per-language tables, and two charts drawn with Apache ECharts, whose script is inlined from
 * its webjar.
 */
public final class ReportHtml {

  static final String ECHARTS = "META-INF/resources/webjars/echarts/5.3.1/dist/echarts.min.js";

  private ReportHtml() {
  }

  /** The page for a report. */
  public static String render(ObjectNode report) {
    StringBuilder b = new StringBuilder(1 << 20);
    b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n")
        .append("<title>Redress replay report</title>\n<style>\n")
        .append("body{font-family:system-ui,sans-serif;margin:2em;color:#222}")
        .append("table{border-collapse:collapse;margin:1em 0}")
        .append("td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}")
        .append("th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}")
        .append(".charts{display:flex;flex-wrap:wrap;gap:2em}")
        .append(".chart{width:560px;height:340px}\n</style>\n");
    b.append("<script>").append(echarts()).append("</script>\n</head><body>\n");
    b.append("<h1>Replay report</h1>\n<p>Model <b>").append(esc(report.path("model").asText()))
        .append("</b>, prompt ").append(esc(report.path("prompt_version").asText()))
        .append(", generated ").append(esc(report.path("generated_at").asText()))
        .append(".</p>\n<table id=\"summary\">\n");
    row(b, "inputs", num(report.get("inputs")));
    row(b, "replies", num(report.get("replies")));
    row(b, "dead letters", num(report.get("dead_letters")));
    row(b, "accuracy (cosine &ge; " + report.path("cosine_threshold").asText() + ")",
        pct(report.get("accuracy")) + " of " + num(report.get("scored")) + " scored");
    row(b, "schema-valid share", pct(report.get("schema_valid_share")) + " of "
        + num(report.get("parsed")) + " parsed");
    JsonNode lat = report.path("latency_ms");
    row(b, "latency p50 / p95 / p99", num(lat.get("p50")) + " / " + num(lat.get("p95"))
        + " / " + num(lat.get("p99")) + " ms");
    JsonNode tp = report.path("throughput");
    row(b, "throughput", fmt(tp.get("replies_per_second")) + " replies/s, "
        + fmt(tp.get("inputs_per_second")) + " inputs/s, "
        + fmt(tp.get("completion_tokens_per_second")) + " tokens/s");
    row(b, "prefix-hit rate", pct(report.get("prefix_hit_rate")));
    b.append("</table>\n");
    b.append("<div class=\"charts\"><div id=\"latency\" class=\"chart\"></div>")
        .append("<div id=\"accuracy\" class=\"chart\"></div></div>\n");
    table(b, "Per category (human-assigned)", "by-category", report.get("by_category"),
        "category");
    table(b, "Per language", "by-language", report.get("by_language"), "language");
    b.append("<h2>Dead letters by reason</h2>\n<table id=\"dead-letters\"><tr><th>stage/code"
        + "</th><th>count</th></tr>\n");
    report.path("dead_letters_by_reason").fields().forEachRemaining(e -> b.append("<tr><td>")
        .append(esc(e.getKey())).append("</td><td>").append(e.getValue().asLong())
        .append("</td></tr>\n"));
    b.append("</table>\n");
    String data = report.toString().replace("</", "<\\/");
    b.append("<script>\nconst report = ").append(data).append(";\n").append("""
        const h = report.latency_histogram;
        echarts.init(document.getElementById('latency')).setOption({
          title: {text: 'Latency histogram (ms)'}, tooltip: {},
          xAxis: {type: 'category', name: 'ms', data: (h.lower_ms || []).map(x => '' + x)},
          yAxis: {type: 'value', name: 'requests'},
          series: [{type: 'bar', data: h.counts || []}]
        });
        const cats = report.by_category;
        echarts.init(document.getElementById('accuracy')).setOption({
          title: {text: 'Accuracy by category'}, tooltip: {},
          xAxis: {type: 'category', data: cats.map(c => c.category),
                  axisLabel: {rotate: 30}},
          yAxis: {type: 'value', min: 0, max: 100, name: '%'},
          series: [{type: 'bar', data: cats.map(c => c.accuracy == null ? 0
                    : Math.round(c.accuracy * 1000) / 10)}]
        });
        document.body.setAttribute('data-rendered', 'true');
        </script>
        </body></html>
        """);
    return b.toString();
  }

  private static void table(StringBuilder b, String title, String id, JsonNode rows,
      String key) {
    b.append("<h2>").append(title).append("</h2>\n<table id=\"").append(id).append("\"><tr><th>")
        .append(key).append("</th><th>inputs</th><th>replies</th><th>dead letters</th>")
        .append("<th>scored</th><th>accuracy</th><th>mean cosine</th>")
        .append("<th>category match</th><th>mean latency ms</th></tr>\n");
    for (JsonNode r : rows) {
      b.append("<tr><td>").append(esc(r.path(key).asText())).append("</td><td>")
          .append(num(r.get("inputs"))).append("</td><td>").append(num(r.get("replies")))
          .append("</td><td>").append(num(r.get("dead_letters"))).append("</td><td>")
          .append(num(r.get("scored"))).append("</td><td>").append(pct(r.get("accuracy")))
          .append("</td><td>").append(fmt(r.get("mean_cosine"))).append("</td><td>")
          .append(pct(r.get("category_match"))).append("</td><td>")
          .append(ms(r.get("mean_latency_ms"))).append("</td></tr>\n");
    }
    b.append("</table>\n");
  }

  private static void row(StringBuilder b, String name, String value) {
    b.append("<tr><th>").append(name).append("</th><td>").append(value).append("</td></tr>\n");
  }

  private static String num(JsonNode n) {
    return n == null || n.isNull() ? "&ndash;" : n.isIntegralNumber() ? n.asText()
        : fmt(n);
  }

  private static String fmt(JsonNode n) {
    return n == null || n.isNull() ? "&ndash;"
        : String.format(Locale.ROOT, "%.3g", n.asDouble());
  }

  private static String ms(JsonNode n) {
    return n == null || n.isNull() ? "&ndash;"
        : String.format(Locale.ROOT, "%.0f", n.asDouble());
  }

  private static String pct(JsonNode n) {
    return n == null || n.isNull() ? "&ndash;"
        : String.format(Locale.ROOT, "%.1f %%", 100 * n.asDouble());
  }

  private static String esc(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        .replace("\"", "&quot;");
  }

  private static String echarts() {
    try (InputStream in = ReportHtml.class.getClassLoader().getResourceAsStream(ECHARTS)) {
      if (in == null) {
        throw new IllegalStateException(ECHARTS + " is not on the class path (the"
            + " org.webjars.npm:echarts artifact)");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).replace("</script",
          "<\\/script");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
