package io.redress.job.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * report.html renders in headless Chromium: its scripts run without network (ECharts inlined)
 * and draw both charts. Skipped where no Chromium is installed ('apt-get install chromium').
 */
class ReportHtmlChromiumTest {

  static Path chromium() {
    for (String c : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome")) {
      if (Files.isExecutable(Path.of(c))) {
        return Path.of(c);
      }
    }
    return null;
  }

  @Test
  void rendersWithBothCharts(@TempDir Path dir) throws Exception {
    Path chromium = chromium();
    assumeTrue(chromium != null, "no Chromium installed");
    ReportStats s = new ReportStats();
    String[] cats = {"delivery", "billing", "refund"};
    for (int i = 0; i < 60; i++) {
      Outcome o = new Outcome();
      o.reply = true;
      o.language = i % 2 == 0 ? "en" : "zh";
      o.referenceCategory = cats[i % 3];
      o.category = cats[i % 3];
      o.cosine = 0.7 + (i % 5) * 0.06;
      o.correct = o.cosine >= 0.85;
      o.latencyMs = 200 + 13L * i;
      o.completionTokens = 50;
      s.add(o, 1000 + 100L * i);
    }
    Path html = dir.resolve("report.html");
    Files.writeString(html, ReportHtml.render(Report.of(s, "demo", "v1", 0.85)));
    Process p = new ProcessBuilder(chromium.toString(), "--headless", "--no-sandbox",
        "--disable-gpu", "--virtual-time-budget=5000", "--dump-dom", html.toUri().toString())
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String dom = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(dom).contains("data-rendered=\"true\"");
    // ECharts draws each chart into its own canvas inside the chart's div.
    assertThat(dom.split("<canvas", -1).length - 1).isGreaterThanOrEqualTo(2);
  }
}
