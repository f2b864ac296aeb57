package io.redress.bench;

import io.redress.inference.engine.EngineStats;
import io.redress.inference.engine.FinishReason;
import io.redress.inference.engine.GenerationResult;
import java.util.List;
import java.util.Objects;
import java.util.function.ToDoubleFunction;

/**
 * What one pass over a workload measured, on one freshly opened engine.
 *
 * @param label short name of the pass ("prefix_cache_on", "prefix_cache_off")
 * @param prefixCaching whether the engine had prefix caching on
 * @param engineOpenSeconds time to open the engine (model load, KV allocation)
 * @param wallSeconds from the first submit to the last completion
 * @param numRequests requests submitted
 * @param completed requests that ended with STOP or LENGTH
 * @param failed requests that ended with ERROR or ABORT (excluded from latencies)
 * @param firstError the message of the first failed request, or null
 * @param promptTokens sum of the results' prompt tokens
 * @param outputTokens sum of the results' generated tokens
 * @param cachedTokens sum of the results' prompt tokens served from the prefix cache
 * @param ttftMs time to first token (submit to first token), milliseconds
 * @param tpotMs mean time per output token after the first, per request, milliseconds
 * @param e2eMs submit to finish, milliseconds
 * @param queueMs submit to first scheduled, milliseconds
 * @param stats the engine's counters over the timed pass (after minus before; warm-up excluded)
 * @param kvBlocksTotal KV blocks in the engine's pool
 */
record ThroughputRun(
    String label,
    boolean prefixCaching,
    double engineOpenSeconds,
    double wallSeconds,
    int numRequests,
    int completed,
    int failed,
    String firstError,
    long promptTokens,
    long outputTokens,
    long cachedTokens,
    Percentiles.Summary ttftMs,
    Percentiles.Summary tpotMs,
    Percentiles.Summary e2eMs,
    Percentiles.Summary queueMs,
    StatsDelta stats,
    int kvBlocksTotal) {

  /**
   * Engine counters accumulated during the timed pass.
   *
   * @param promptTokens prompt tokens the engine saw
   * @param prefixHitTokens of those, served from the prefix cache
   * @param generatedTokens tokens generated
   * @param preemptions sequences preempted (and recomputed)
   * @param steps forward steps
   */
  record StatsDelta(long promptTokens, long prefixHitTokens, long generatedTokens,
      long preemptions, long steps) {

    static StatsDelta between(EngineStats before, EngineStats after) {
      return new StatsDelta(after.promptTokens() - before.promptTokens(),
          after.prefixHitTokens() - before.prefixHitTokens(),
          after.generatedTokens() - before.generatedTokens(),
          after.preemptions() - before.preemptions(), after.steps() - before.steps());
    }

    double prefixHitRate() {
      return promptTokens == 0 ? Double.NaN : (double) prefixHitTokens / promptTokens;
    }
  }

  /** Computes the metrics of a pass from its results (one per submitted request). */
  static ThroughputRun of(String label, boolean prefixCaching, double engineOpenSeconds,
      double wallSeconds, List<GenerationResult> results, EngineStats before, EngineStats after) {
    results.forEach(Objects::requireNonNull);
    List<GenerationResult> ok = results.stream().filter(ThroughputRun::succeeded).toList();
    String firstError = results.stream().filter(r -> !succeeded(r)).findFirst()
        .map(r -> r.finishReason().jsonName() + ": " + r.message()).orElse(null);
    List<GenerationResult> withTokens = ok.stream().filter(r -> r.completionTokens() > 0)
        .toList();
    List<GenerationResult> withDecode = ok.stream().filter(r -> r.completionTokens() > 1)
        .toList();
    return new ThroughputRun(label, prefixCaching, engineOpenSeconds, wallSeconds,
        results.size(), ok.size(), results.size() - ok.size(), firstError,
        results.stream().mapToLong(GenerationResult::promptTokens).sum(),
        results.stream().mapToLong(GenerationResult::completionTokens).sum(),
        results.stream().mapToLong(GenerationResult::cachedTokens).sum(),
        millis(withTokens, GenerationResult::firstTokenNanos),
        millis(withDecode, GenerationResult::perTokenNanos),
        millis(ok, GenerationResult::totalNanos),
        millis(ok, GenerationResult::queueNanos),
        StatsDelta.between(before, after), after.kvBlocksTotal());
  }

  private static boolean succeeded(GenerationResult r) {
    return r.finishReason() == FinishReason.STOP || r.finishReason() == FinishReason.LENGTH;
  }

  private static Percentiles.Summary millis(List<GenerationResult> rs,
      ToDoubleFunction<GenerationResult> nanos) {
    double[] v = rs.stream().mapToDouble(nanos).toArray();
    return Percentiles.summarize(v).scaled(1e-6);
  }

  double requestsPerSecond() {
    return completed / wallSeconds;
  }

  double outputTokensPerSecond() {
    return outputTokens / wallSeconds;
  }

  /** Prompt plus output tokens per second (prompt tokens counted whether cached or not). */
  double totalTokensPerSecond() {
    return (promptTokens + outputTokens) / wallSeconds;
  }

  /** Share of prompt tokens served from the prefix cache, from the results. */
  double prefixHitRate() {
    return promptTokens == 0 ? Double.NaN : (double) cachedTokens / promptTokens;
  }

  /** Generated tokens per forward step: a rough mean decode batch size. */
  double outputTokensPerStep() {
    return stats.steps() == 0 ? Double.NaN : (double) stats.generatedTokens() / stats.steps();
  }
}
