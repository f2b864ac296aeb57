package io.redress.job.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The running totals of a replay, kept in the report operator's checkpointed state (as JSON,
 * so the state stays readable across versions). Plain Jackson bean.
 */
public final class ReportStats {

  /** Counts of one group (a language, a category, or everything). */
  public static final class Group {
    public long inputs;
    public long replies;
    public long deadLetters;
    public long scored;
    public long correct;
    public double cosineSum;
    /** Replies whose category equals the human one (when the event had one). */
    public long categoryKnown;
    public long categoryMatch;
    public long latencySumMs;
    public long generations;

    void add(Outcome o) {
      inputs++;
      if (o.reply) {
        replies++;
      } else {
        deadLetters++;
      }
      if (o.cosine != null) {
        scored++;
        cosineSum += o.cosine;
        if (Boolean.TRUE.equals(o.correct)) {
          correct++;
        }
      }
      if (o.reply && o.referenceCategory != null) {
        categoryKnown++;
        if (o.referenceCategory.equals(o.category)) {
          categoryMatch++;
        }
      }
      if (o.latencyMs > 0 || o.completionTokens > 0) {
        generations++;
        latencySumMs += o.latencyMs;
      }
    }
  }

  public Group total = new Group();
  public Map<String, Group> byLanguage = new TreeMap<>();
  public Map<String, Group> byCategory = new TreeMap<>();
  /** "stage/error_code" to count. */
  public Map<String, Long> deadLettersByReason = new TreeMap<>();
  /** Parsed-and-valid replies plus replies rejected only later (scoring). */
  public long schemaValid;
  /** Generations that reached parsing. */
  public long parsed;
  public long promptTokens;
  public long cachedTokens;
  public long completionTokens;
  /** Latency of every generation, ms. */
  public List<Long> latenciesMs = new ArrayList<>();
  public long firstAtMs;
  public long lastAtMs;

  /** Counts one outcome seen at wall-clock time {@code nowMs}. */
  public void add(Outcome o, long nowMs) {
    if (firstAtMs == 0) {
      firstAtMs = nowMs;
    }
    lastAtMs = nowMs;
    total.add(o);
    byLanguage.computeIfAbsent(o.language == null ? "unknown" : o.language, k -> new Group())
        .add(o);
    byCategory.computeIfAbsent(o.referenceCategory == null ? "(none)" : o.referenceCategory,
        k -> new Group()).add(o);
    if (!o.reply) {
      deadLettersByReason.merge(o.stage + "/" + o.errorCode, 1L, Long::sum);
    }
    boolean reachedParse = o.reply || "parse".equals(o.stage) || "score".equals(o.stage);
    if (reachedParse) {
      parsed++;
      if (!"parse".equals(o.stage)) {
        schemaValid++;
      }
    }
    promptTokens += o.promptTokens;
    cachedTokens += o.cachedTokens;
    completionTokens += o.completionTokens;
    if (o.latencyMs > 0 || o.completionTokens > 0) {
      latenciesMs.add(o.latencyMs);
    }
  }
}
