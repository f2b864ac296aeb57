package io.redress.job.report;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReportTest {

  private static Outcome reply(String lang, String cat, double cosine, long latency) {
    Outcome o = new Outcome();
    o.reply = true;
    o.language = lang;
    o.referenceCategory = cat;
    o.category = cat;
    o.cosine = cosine;
    o.correct = cosine >= 0.85;
    o.latencyMs = latency;
    o.promptTokens = 100;
    o.cachedTokens = 80;
    o.completionTokens = 20;
    return o;
  }

  @Test
  void figuresAddUp() throws Exception {
    ReportStats s = new ReportStats();
    s.add(reply("en", "delivery", 0.9, 100), 1000);
    s.add(reply("zh", "billing", 0.5, 300), 2000);
    Outcome dead = new Outcome();
    dead.stage = "parse";
    dead.errorCode = "invalid_json";
    dead.language = "en";
    dead.latencyMs = 200;
    dead.completionTokens = 10;
    s.add(dead, 3000);
    // The state round-trips through JSON (checkpoints).
    ObjectMapper json = new ObjectMapper();
    s = json.readValue(json.writeValueAsBytes(s), ReportStats.class);

    var r = Report.of(s, "m", "v1", 0.85);
    assertThat(r.path("inputs").asLong()).isEqualTo(3);
    assertThat(r.path("accuracy").asDouble()).isEqualTo(0.5);
    assertThat(r.path("schema_valid_share").asDouble()).isEqualTo(2.0 / 3);
    assertThat(r.path("latency_ms").path("p50").asLong()).isEqualTo(200);
    assertThat(r.path("latency_ms").path("p99").asLong()).isEqualTo(300);
    assertThat(r.path("prefix_hit_rate").asDouble()).isEqualTo(160.0 / 200);
    assertThat(r.path("dead_letters_by_reason").path("parse/invalid_json").asLong())
        .isEqualTo(1);
    assertThat(r.path("by_language")).hasSize(2);
    String html = ReportHtml.render(r);
    assertThat(html).contains("<table id=\"by-category\">").contains("echarts.init")
        .doesNotContain("src=\"http");
  }

  @Test
  void percentilesAreNearestRank() {
    List<Long> v = java.util.stream.LongStream.rangeClosed(1, 100).boxed().toList();
    assertThat(Report.percentile(v, 50)).isEqualTo(50);
    assertThat(Report.percentile(v, 95)).isEqualTo(95);
    assertThat(Report.percentile(v, 99)).isEqualTo(99);
  }
}
