package io.redress.job.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** report.json: the replay's figures computed from {@link ReportStats}. */
public final class Report {

  static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT);

  private Report() {
  }

  /** The report as JSON. */
  public static ObjectNode of(ReportStats s, String model, String promptVersion,
      double threshold) {
    ObjectNode r = JSON.createObjectNode();
    r.put("generated_at", Instant.now().toString());
    r.put("model", model);
    r.put("prompt_version", promptVersion);
    r.put("cosine_threshold", threshold);
    r.put("inputs", s.total.inputs);
    r.put("replies", s.total.replies);
    r.put("dead_letters", s.total.deadLetters);
    r.put("scored", s.total.scored);
    r.put("correct", s.total.correct);
    putShare(r, "accuracy", s.total.correct, s.total.scored);
    putShare(r, "mean_cosine", s.total.cosineSum, s.total.scored);
    r.put("parsed", s.parsed);
    r.put("schema_valid", s.schemaValid);
    putShare(r, "schema_valid_share", s.schemaValid, s.parsed);
    List<Long> sorted = new ArrayList<>(s.latenciesMs);
    sorted.sort(null);
    ObjectNode lat = r.putObject("latency_ms");
    lat.put("count", sorted.size());
    if (!sorted.isEmpty()) {
      lat.put("p50", percentile(sorted, 50));
      lat.put("p95", percentile(sorted, 95));
      lat.put("p99", percentile(sorted, 99));
      lat.put("max", sorted.get(sorted.size() - 1));
      lat.put("mean", sorted.stream().mapToLong(Long::longValue).average().orElse(0));
    }
    double wall = Math.max(1, s.lastAtMs - s.firstAtMs) / 1000.0;
    ObjectNode tp = r.putObject("throughput");
    tp.put("wall_seconds", wall);
    tp.put("inputs_per_second", s.total.inputs / wall);
    tp.put("replies_per_second", s.total.replies / wall);
    tp.put("completion_tokens_per_second", s.completionTokens / wall);
    ObjectNode tokens = r.putObject("tokens");
    tokens.put("prompt", s.promptTokens);
    tokens.put("cached", s.cachedTokens);
    tokens.put("completion", s.completionTokens);
    putShare(r, "prefix_hit_rate", s.cachedTokens, s.promptTokens);
    ObjectNode reasons = r.putObject("dead_letters_by_reason");
    s.deadLettersByReason.forEach(reasons::put);
    r.set("by_language", groups(s.byLanguage, "language"));
    r.set("by_category", groups(s.byCategory, "category"));
    r.set("latency_histogram", histogram(sorted));
    return r;
  }

  private static ArrayNode groups(Map<String, ReportStats.Group> groups, String keyName) {
    ArrayNode a = JSON.createArrayNode();
    groups.forEach((k, g) -> {
      ObjectNode o = a.addObject();
      o.put(keyName, k);
      o.put("inputs", g.inputs);
      o.put("replies", g.replies);
      o.put("dead_letters", g.deadLetters);
      o.put("scored", g.scored);
      o.put("correct", g.correct);
      putShare(o, "accuracy", g.correct, g.scored);
      putShare(o, "mean_cosine", g.cosineSum, g.scored);
      putShare(o, "category_match", g.categoryMatch, g.categoryKnown);
      putShare(o, "mean_latency_ms", g.latencySumMs, g.generations);
    });
    return a;
  }

  /** Up to 20 equal-width bins from 0 to the largest latency. */
  static ObjectNode histogram(List<Long> sorted) {
    ObjectNode h = JSON.createObjectNode();
    ArrayNode lower = h.putArray("lower_ms");
    ArrayNode counts = h.putArray("counts");
    if (sorted.isEmpty()) {
      return h;
    }
    long max = sorted.get(sorted.size() - 1);
    int bins = 20;
    long width = Math.max(1, (max + bins) / bins);
    long[] c = new long[bins];
    for (long v : sorted) {
      c[(int) Math.min(bins - 1, v / width)]++;
    }
    for (int i = 0; i < bins; i++) {
      lower.add(i * width);
      counts.add(c[i]);
    }
    h.put("width_ms", width);
    return h;
  }

  /** Nearest-rank percentile of a sorted list. */
  static long percentile(List<Long> sorted, double p) {
    int rank = (int) Math.ceil(p / 100.0 * sorted.size());
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
  }

  private static void putShare(ObjectNode o, String name, double num, double den) {
    if (den == 0) {
      o.putNull(name);
    } else {
      o.put(name, num / den);
    }
  }
}
