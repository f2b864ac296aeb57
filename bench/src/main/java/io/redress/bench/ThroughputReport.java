package io.redress.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.redress.inference.engine.EngineConfig;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * The result of {@code bench throughput}: settings, machine and one column per pass, as JSON
 * (snake_case keys, NaN written as null) and as Markdown.
 *
 * @param name the result's file name stem
 * @param model the model directory as given
 * @param workload what was submitted
 * @param engine the engine settings shared by all passes (each pass sets prefix caching)
 * @param machine where it ran
 * @param runs one pass, or two with prefix caching on then off
 * @param startedAt when the benchmark started
 */
record ThroughputReport(String name, String model, Workload workload, EngineConfig engine,
    MachineInfo machine, List<ThroughputRun> runs, Instant startedAt) {

  /**
   * The workload's settings as given.
   *
   * @param mode "random" or "dataset"
   * @param numRequests requests per pass
   * @param promptLen random mode: prompt tokens; null in dataset mode
   * @param sharedPrefix random mode: leading prompt tokens common to all requests; else null
   * @param outputLen random mode: tokens generated per request; else null
   * @param dataset dataset mode: the file; else null
   * @param textPrompts dataset mode: how many prompts are text (the rest token ids)
   * @param requestRate requests per second (Poisson arrivals), or infinity for all at once
   * @param seed seed of the prompts and of the arrival times
   * @param warmup requests run before each pass and excluded from it
   */
  record Workload(String mode, int numRequests, Integer promptLen, Integer sharedPrefix,
      Integer outputLen, String dataset, long textPrompts, double requestRate, long seed,
      int warmup) {

    String describe() {
      String what = mode.equals("random")
          ? String.format("%d requests of random token ids: prompt %d tokens%s, %d output"
              + " tokens each", numRequests, promptLen, sharedPrefix > 0
              ? " (first " + sharedPrefix + " shared by all)" : "", outputLen)
          : String.format("%d requests from %s (%d text, %d token-id prompts)", numRequests,
              dataset, textPrompts, numRequests - textPrompts);
      String arrival = Double.isInfinite(requestRate) ? "all submitted at once"
          : String.format("Poisson arrivals at %s requests/s", num(requestRate));
      return what + "; greedy, EOS ignored; " + arrival + "; " + warmup
          + " warm-up requests excluded; seed " + seed;
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Machine-readable form. */
  ObjectNode toJson() {
    ObjectNode root = JSON.createObjectNode();
    root.put("benchmark", "throughput");
    root.put("name", name);
    root.put("started_at", startedAt.toString());
    root.put("model", model);

    ObjectNode w = root.putObject("workload");
    w.put("mode", workload.mode());
    w.put("num_requests", workload.numRequests());
    putInt(w, "prompt_len", workload.promptLen());
    putInt(w, "shared_prefix", workload.sharedPrefix());
    putInt(w, "output_len", workload.outputLen());
    w.put("dataset", workload.dataset());
    w.put("arrival", Double.isInfinite(workload.requestRate()) ? "all_at_once" : "poisson");
    putNum(w, "request_rate_per_s", workload.requestRate());
    w.put("seed", workload.seed());
    w.put("warmup_requests", workload.warmup());
    w.put("sampling", "greedy, ignore_eos");

    ObjectNode e = root.putObject("engine_settings");
    e.put("device", engine.device().name().toLowerCase(Locale.ROOT));
    e.put("block_size", engine.blockSize());
    e.put("num_blocks", engine.numBlocks());
    e.put("kv_cache_fraction", engine.kvCacheFraction());
    e.put("max_num_seqs", engine.maxNumSeqs());
    e.put("max_num_batched_tokens", engine.maxNumBatchedTokens());
    e.put("max_model_len", engine.maxModelLen());
    e.put("enable_chunked_prefill", engine.enableChunkedPrefill());
    e.put("batch_window_ms", engine.batchWindow().toNanos() / 1e6);

    ObjectNode m = root.putObject("machine");
    m.put("cpu", machine.cpu());
    m.put("cores", machine.cores());
    m.put("java", machine.java());
    m.put("os", machine.os());
    m.put("max_heap_bytes", machine.maxHeapBytes());
    ArrayNode gpus = m.putArray("gpus");
    machine.gpus().forEach(gpus::add);

    ArrayNode rs = root.putArray("runs");
    for (ThroughputRun r : runs) {
      ObjectNode o = rs.addObject();
      o.put("label", r.label());
      o.put("enable_prefix_caching", r.prefixCaching());
      putNum(o, "engine_open_s", r.engineOpenSeconds());
      o.put("kv_blocks_total", r.kvBlocksTotal());
      putNum(o, "wall_s", r.wallSeconds());
      o.put("num_requests", r.numRequests());
      o.put("completed", r.completed());
      o.put("failed", r.failed());
      o.put("first_error", r.firstError());
      putNum(o, "requests_per_s", r.requestsPerSecond());
      putNum(o, "output_tokens_per_s", r.outputTokensPerSecond());
      putNum(o, "total_tokens_per_s", r.totalTokensPerSecond());
      o.put("prompt_tokens", r.promptTokens());
      o.put("output_tokens", r.outputTokens());
      o.put("cached_tokens", r.cachedTokens());
      putNum(o, "prefix_hit_rate", r.prefixHitRate());
      o.put("engine_prompt_tokens", r.stats().promptTokens());
      o.put("engine_prefix_hit_tokens", r.stats().prefixHitTokens());
      putNum(o, "engine_prefix_hit_rate", r.stats().prefixHitRate());
      o.put("engine_generated_tokens", r.stats().generatedTokens());
      o.put("preemptions", r.stats().preemptions());
      o.put("steps", r.stats().steps());
      putNum(o, "output_tokens_per_step", r.outputTokensPerStep());
      putNum(o, "queue_ms_mean", r.queueMs().mean());
      putSummary(o, "ttft_ms", r.ttftMs());
      putSummary(o, "tpot_ms", r.tpotMs());
      putSummary(o, "e2e_ms", r.e2eMs());
      putSummary(o, "queue_ms", r.queueMs());
    }
    if (runs.size() == 2) {
      ThroughputRun on = runs.get(0);
      ThroughputRun off = runs.get(1);
      ObjectNode c = root.putObject("comparison");
      c.put("numerator", on.label());
      c.put("denominator", off.label());
      putNum(c, "output_tokens_per_s_ratio",
          on.outputTokensPerSecond() / off.outputTokensPerSecond());
      putNum(c, "total_tokens_per_s_ratio",
          on.totalTokensPerSecond() / off.totalTokensPerSecond());
      putNum(c, "ttft_p50_ratio", on.ttftMs().p50() / off.ttftMs().p50());
      putNum(c, "e2e_p50_ratio", on.e2eMs().p50() / off.e2eMs().p50());
    }
    return root;
  }

  /** Human-readable form: a settings table and one metrics column per pass. */
  String toMarkdown() {
    StringBuilder sb = new StringBuilder();
    sb.append("# Engine throughput: ").append(name).append("\n\n");
    sb.append("| | |\n|---|---|\n");
    row(sb, "model", model);
    row(sb, "workload", workload.describe());
    row(sb, "engine", String.format("device %s, block size %d, KV blocks %s, max seqs %d,"
        + " max batched tokens %d, chunked prefill %s, batch window %s ms",
        engine.device().name().toLowerCase(Locale.ROOT), engine.blockSize(),
        engine.numBlocks() == 0 ? "auto (" + num(engine.kvCacheFraction() * 100)
            + " % of free memory)" : String.valueOf(engine.numBlocks()),
        engine.maxNumSeqs(), engine.maxNumBatchedTokens(),
        engine.enableChunkedPrefill() ? "on" : "off", num(engine.batchWindow().toNanos() / 1e6)));
    row(sb, "machine", machine.describe());
    row(sb, "started", startedAt.toString());
    sb.append('\n');

    sb.append("| metric |");
    runs.forEach(r -> sb.append(' ').append(r.prefixCaching() ? "prefix cache on"
        : "prefix cache off").append(" |"));
    sb.append("\n|---|");
    runs.forEach(r -> sb.append("---:|"));
    sb.append('\n');
    metric(sb, "**output tokens/s**", r -> "**" + num(r.outputTokensPerSecond()) + "**");
    metric(sb, "total tokens/s (prompt + output)", r -> num(r.totalTokensPerSecond()));
    metric(sb, "requests/s", r -> num(r.requestsPerSecond()));
    metric(sb, "wall time (s)", r -> num(r.wallSeconds()));
    metric(sb, "requests completed / failed", r -> r.completed() + " / " + r.failed());
    metric(sb, "prompt / output tokens", r -> r.promptTokens() + " / " + r.outputTokens());
    metric(sb, "prefix hit rate (results)", r -> percent(r.prefixHitRate()));
    metric(sb, "prefix hit rate (engine stats)", r -> percent(r.stats().prefixHitRate()));
    latency(sb, "TTFT", ThroughputRun::ttftMs);
    latency(sb, "time per output token", ThroughputRun::tpotMs);
    latency(sb, "end-to-end latency", ThroughputRun::e2eMs);
    metric(sb, "queue time mean (ms)", r -> num(r.queueMs().mean()));
    metric(sb, "preemptions", r -> String.valueOf(r.stats().preemptions()));
    metric(sb, "forward steps", r -> String.valueOf(r.stats().steps()));
    metric(sb, "output tokens per step", r -> num(r.outputTokensPerStep()));
    metric(sb, "KV blocks in pool", r -> String.valueOf(r.kvBlocksTotal()));
    metric(sb, "engine open (s)", r -> num(r.engineOpenSeconds()));
    for (ThroughputRun r : runs) {
      if (r.firstError() != null) {
        sb.append("\nFirst failure with prefix cache ").append(r.prefixCaching() ? "on" : "off")
            .append(": ").append(r.firstError().replace('\n', ' ')).append('\n');
      }
    }
    sb.append("\nLatency percentiles interpolate linearly between closest ranks (as numpy);"
        + " time per output token is (end-to-end - TTFT) / (output tokens - 1) per request.\n");
    return sb.toString();
  }

  private void latency(StringBuilder sb, String what, Function<ThroughputRun,
      Percentiles.Summary> f) {
    metric(sb, what + " mean (ms)", r -> num(f.apply(r).mean()));
    metric(sb, what + " p50 (ms)", r -> num(f.apply(r).p50()));
    metric(sb, what + " p90 (ms)", r -> num(f.apply(r).p90()));
    metric(sb, what + " p95 (ms)", r -> num(f.apply(r).p95()));
    metric(sb, what + " p99 (ms)", r -> num(f.apply(r).p99()));
  }

  private void metric(StringBuilder sb, String label, Function<ThroughputRun, String> cell) {
    sb.append("| ").append(label).append(" |");
    runs.forEach(r -> sb.append(' ').append(cell.apply(r)).append(" |"));
    sb.append('\n');
  }

  private static void row(StringBuilder sb, String key, String value) {
    sb.append("| ").append(key).append(" | ").append(value.replace("|", "\\|")).append(" |\n");
  }

  /** A number with about three significant digits, or an en dash for "not measured". */
  static String num(double v) {
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      return "–";
    }
    double a = Math.abs(v);
    String s = a >= 100 || a == Math.rint(a) ? String.format(Locale.ROOT, "%.0f", v)
        : a >= 10 ? String.format(Locale.ROOT, "%.1f", v)
        : a >= 0.1 ? String.format(Locale.ROOT, "%.2f", v)
        : String.format(Locale.ROOT, "%.3g", v);
    return s;
  }

  private static String percent(double share) {
    return Double.isNaN(share) ? "–" : String.format(Locale.ROOT, "%.1f %%", share * 100);
  }

  private static void putSummary(ObjectNode parent, String key, Percentiles.Summary s) {
    ObjectNode o = parent.putObject(key);
    o.put("count", s.count());
    putNum(o, "mean", s.mean());
    putNum(o, "min", s.min());
    putNum(o, "p50", s.p50());
    putNum(o, "p90", s.p90());
    putNum(o, "p95", s.p95());
    putNum(o, "p99", s.p99());
    putNum(o, "max", s.max());
  }

  /** Finite numbers rounded to 4 decimals; NaN and infinity as null (JSON has neither). */
  private static void putNum(ObjectNode o, String key, double v) {
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      o.putNull(key);
    } else {
      o.put(key, Math.round(v * 1e4) / 1e4);
    }
  }

  private static void putInt(ObjectNode o, String key, Integer v) {
    if (v == null) {
      o.putNull(key);
    } else {
      o.put(key, v);
    }
  }
}
