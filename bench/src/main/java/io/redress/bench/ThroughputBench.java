package io.redress.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.redress.inference.engine.Engine;
import io.redress.inference.engine.EngineConfig;
import io.redress.inference.engine.EngineStats;
import io.redress.inference.engine.FinishReason;
import io.redress.inference.engine.GenerationResult;
import io.redress.inference.model.ModelConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Offline throughput and latency of the serving engine: N requests submitted at once (or at a
 * Poisson rate), each generating a fixed number of tokens, timed from the first submit to the
 * last completion. Optionally the same workload twice, with prefix caching on and off, each
 * on a freshly opened engine.
 *
 * <p>Warm-up requests (JIT, allocation) run on the same engine before the timed pass. They
 * have the same shape as the random workload but their own random tokens (and their own
 * shared prefix), so they warm the code paths without warming the prefix cache for the timed
 * requests. Engine counters are read before and after the timed pass; the report shows the
 * difference.
 */
@Command(name = "throughput", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Offline throughput and latency of the engine (continuous batching, prefix"
        + " cache). Writes <name>.json and <name>.md into --out and prints the Markdown.")
final class ThroughputBench implements Callable<Integer> {

  private static final Logger LOG = LoggerFactory.getLogger(ThroughputBench.class);
  private static final long PROGRESS_EVERY_S = 5;

  @Option(names = "--model", required = true, paramLabel = "DIR",
      description = "Model directory (config.json, *.safetensors, tokenizer.json).")
  Path model;

  @Option(names = "--num-requests", paramLabel = "N", description = "Requests per pass"
      + " (default: 64; with --dataset, every line).")
  Integer numRequests;

  @Option(names = "--prompt-len", defaultValue = "256", paramLabel = "L",
      description = "Prompt tokens per random request (default: ${DEFAULT-VALUE}).")
  int promptLen;

  @Option(names = "--output-len", defaultValue = "64", paramLabel = "M",
      description = "Tokens generated per request, EOS ignored; with --dataset the default for"
          + " lines without output_len (default: ${DEFAULT-VALUE}).")
  int outputLen;

  @Option(names = "--shared-prefix", defaultValue = "0", paramLabel = "P",
      description = "Leading prompt tokens common to all random requests, like a shared"
          + " system prompt (default: ${DEFAULT-VALUE}).")
  int sharedPrefix;

  @Option(names = "--dataset", paramLabel = "FILE.jsonl", description = "Requests from JSON"
      + " Lines: {\"prompt\": \"text\", \"output_len\": N} or {\"prompt_ids\": [ids],"
      + " \"output_len\": N}. Text is tokenized as is (no chat template).")
  Path dataset;

  @Option(names = "--no-prefix-cache", description = "Run with prefix caching off.")
  boolean noPrefixCache;

  @Option(names = "--compare-prefix-cache", description = "Run the workload twice, prefix"
      + " caching on then off (a fresh engine each), and report both side by side.")
  boolean comparePrefixCache;

  @Option(names = "--device", defaultValue = "auto", paramLabel = "cpu|cuda|auto",
      description = "Where the engine runs (default: ${DEFAULT-VALUE}).")
  String device;

  @picocli.CommandLine.Mixin io.redress.inference.cli.SchedulerOptions sched =
      new io.redress.inference.cli.SchedulerOptions();

  @picocli.CommandLine.Mixin io.redress.inference.cli.GpuOptions gpu =
      new io.redress.inference.cli.GpuOptions();

  @Option(names = "--request-rate", defaultValue = "inf", paramLabel = "R",
      description = "Requests per second with Poisson arrivals; inf submits all at once"
          + " (default: ${DEFAULT-VALUE}).")
  String requestRate;

  @Option(names = "--seed", defaultValue = "0", paramLabel = "S",
      description = "Seed of the random prompts and arrival times (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--warmup", defaultValue = "2", paramLabel = "N",
      description = "Warm-up requests before each timed pass, excluded from it (default:"
          + " ${DEFAULT-VALUE}).")
  int warmup;

  @Option(names = "--out", defaultValue = "bench-results", paramLabel = "DIR",
      description = "Where <name>.json and <name>.md go (default: ${DEFAULT-VALUE}).")
  Path out;

  @Option(names = "--name", defaultValue = "throughput", paramLabel = "NAME",
      description = "File name stem of the results (default: ${DEFAULT-VALUE}).")
  String name;

  /** Opens engines; tests replace it with a fake. */
  Function<EngineConfig, Engine> engineFactory = Engine::open;

  @Override
  public Integer call() throws IOException {
    Instant startedAt = Instant.now();
    double rate = parseRate(requestRate);
    EngineConfig.Device dev = EngineConfig.Device.parse(device);
    validateFlags();
    try {
      Files.createDirectories(out);
    } catch (IOException e) {
      throw new IllegalArgumentException("--out " + out + ": cannot create the directory ("
          + e.getMessage() + ")");
    }

    ModelConfig modelConfig = ModelConfig.load(model);
    int vocab = modelConfig.vocabSize();
    ThroughputWorkload work;
    if (dataset != null) {
      work = ThroughputWorkload.fromJsonl(dataset, vocab, outputLen, numRequests);
      if (numRequests != null && work.items().size() < numRequests) {
        LOG.warn("--dataset {} holds only {} requests; running those (not --num-requests {})",
            dataset, work.items().size(), numRequests);
      }
    } else {
      if ((long) promptLen + outputLen > modelConfig.maxPositions()) {
        throw new IllegalArgumentException("--prompt-len + --output-len = "
            + (promptLen + outputLen) + " exceeds the model's max_position_embeddings ("
            + modelConfig.maxPositions() + "); shorten them");
      }
      work = ThroughputWorkload.random("req-", numRequests == null ? 64 : numRequests,
          promptLen, sharedPrefix, outputLen, vocab, seed);
    }
    // Own random stream (and own shared prefix): warms the code paths, not the prefix cache
    // for the timed prompts. Shaped like the random workload, cut to fit the model's length.
    int warmPrompt = Math.min(promptLen, modelConfig.maxPositions() / 2);
    ThroughputWorkload warm = ThroughputWorkload.random("warmup-", warmup, warmPrompt,
        Math.min(sharedPrefix, warmPrompt),
        Math.min(outputLen, modelConfig.maxPositions() - warmPrompt), vocab,
        seed ^ 0x5DEECE66DL);

    EngineConfig base = sched.applyTo(gpu.applyTo(EngineConfig.builder(model))).device(dev)
        .build();
    MachineInfo machine = MachineInfo.detect();
    LOG.info("{} on {}", machine.describe(), model);

    List<ThroughputRun> runs = new ArrayList<>();
    List<Boolean> passes = comparePrefixCache ? List.of(true, false) : List.of(!noPrefixCache);
    for (boolean prefixCaching : passes) {
      EngineConfig config = base.toBuilder().enablePrefixCaching(prefixCaching).build();
      runs.add(runPass(config, work, warm, rate));
    }

    ThroughputReport.Workload w = new ThroughputReport.Workload(work.mode(),
        work.items().size(), dataset == null ? promptLen : null,
        dataset == null ? sharedPrefix : null, dataset == null ? outputLen : null,
        dataset == null ? null : dataset.toString(), work.textPrompts(), rate, seed, warmup);
    ThroughputReport report = new ThroughputReport(name, model.toString(), w, base, machine,
        runs, startedAt);
    new ObjectMapper().writerWithDefaultPrettyPrinter()
        .writeValue(out.resolve(name + ".json").toFile(), report.toJson());
    String md = report.toMarkdown();
    Files.writeString(out.resolve(name + ".md"), md, StandardCharsets.UTF_8);
    LOG.info("wrote {} and {}", out.resolve(name + ".json"), out.resolve(name + ".md"));
    System.out.print(md);
    System.out.flush();
    return 0;
  }

  /** Opens an engine, runs the warm-up, then times the workload. */
  private ThroughputRun runPass(EngineConfig config, ThroughputWorkload work,
      ThroughputWorkload warm, double rate) {
    String tag = config.enablePrefixCaching() ? "prefix cache on" : "prefix cache off";
    LOG.info("[{}] opening the engine", tag);
    long t0 = System.nanoTime();
    try (Engine engine = engineFactory.apply(config)) {
      double openS = (System.nanoTime() - t0) / 1e9;
      EngineStats opened = engine.stats();
      LOG.info("[{}] engine open in {} s, {} KV blocks of {} tokens", tag,
          ThroughputReport.num(openS), opened.kvBlocksTotal(), config.blockSize());
      if (!warm.items().isEmpty()) {
        runWarmup(engine, warm, tag);
      }

      int n = work.items().size();
      GenerationResult[] results = new GenerationResult[n];
      CompletableFuture<?>[] futures = new CompletableFuture<?>[n];
      AtomicInteger done = new AtomicInteger();
      AtomicLong lastDone = new AtomicLong(Long.MIN_VALUE);
      long[] arrivals = arrivalOffsets(n, rate, seed);
      EngineStats before = settledStats(engine);
      ScheduledExecutorService progress = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "throughput-progress");
        t.setDaemon(true);
        return t;
      });
      LOG.info("[{}] submitting {} requests{}", tag, n, Double.isInfinite(rate) ? ""
          : " at " + ThroughputReport.num(rate) + " requests/s");
      long start = System.nanoTime();
      progress.scheduleAtFixedRate(() -> logProgress(tag, engine, before, done.get(), n, start),
          PROGRESS_EVERY_S, PROGRESS_EVERY_S, TimeUnit.SECONDS);
      try {
        for (int i = 0; i < n; i++) {
          if (arrivals != null) {
            waitUntil(start + arrivals[i]);
          }
          int k = i;
          ThroughputWorkload.Item item = work.items().get(i);
          long submitted = System.nanoTime();
          futures[i] = engine.submit(item.toRequest()).handle((r, e) -> {
            long now = System.nanoTime();
            results[k] = r != null ? r : GenerationResult.failed(item.id(), FinishReason.ERROR,
                "the engine's future failed: " + e, 0, now - submitted);
            lastDone.accumulateAndGet(now, Math::max);
            done.incrementAndGet();
            return null;
          });
        }
        CompletableFuture.allOf(futures).join();
      } finally {
        progress.shutdownNow();
      }
      double wallS = (lastDone.get() - start) / 1e9;
      EngineStats after = settledStats(engine);
      ThroughputRun run = ThroughputRun.of(config.enablePrefixCaching() ? "prefix_cache_on"
          : "prefix_cache_off", config.enablePrefixCaching(), openS, wallS,
          Arrays.asList(results), before, after);
      if (run.completed() == 0) {
        throw new IllegalArgumentException("[" + tag + "] all " + n + " requests failed; the"
            + " first: " + run.firstError());
      }
      if (run.failed() > 0) {
        LOG.warn("[{}] {} of {} requests failed; the first: {}", tag, run.failed(), n,
            run.firstError());
      }
      if (run.outputTokens() != work.totalOutputLen() && run.failed() == 0) {
        LOG.warn("[{}] generated {} tokens where the workload asked for {} (model length"
            + " limit?)", tag, run.outputTokens(), work.totalOutputLen());
      }
      LOG.info("[{}] {} requests in {} s: {} output tokens/s, {} requests/s, TTFT p50 {} ms,"
          + " prefix hits {}", tag, n, ThroughputReport.num(wallS),
          ThroughputReport.num(run.outputTokensPerSecond()),
          ThroughputReport.num(run.requestsPerSecond()), ThroughputReport.num(run.ttftMs().p50()),
          String.format(Locale.ROOT, "%.1f %%", 100 * (Double.isNaN(run.prefixHitRate()) ? 0
              : run.prefixHitRate())));
      return run;
    }
  }

  private static void runWarmup(Engine engine, ThroughputWorkload warm, String tag) {
    long t = System.nanoTime();
    List<CompletableFuture<GenerationResult>> fs = warm.items().stream()
        .map(i -> engine.submit(i.toRequest())).toList();
    List<GenerationResult> rs = fs.stream().map(CompletableFuture::join).toList();
    List<GenerationResult> bad = rs.stream().filter(r -> r.finishReason() == FinishReason.ERROR
        || r.finishReason() == FinishReason.ABORT).toList();
    if (bad.size() == rs.size()) {
      throw new IllegalArgumentException("[" + tag + "] every warm-up request failed: "
          + bad.get(0).finishReason().jsonName() + ": " + bad.get(0).message());
    }
    LOG.info("[{}] warm-up: {} requests in {} s", tag, rs.size(),
        ThroughputReport.num((System.nanoTime() - t) / 1e9));
  }

  /**
   * The engine's counters once it is idle. Stats are a snapshot the engine thread publishes
   * after each step, so right after the last future completes they may still lack that step.
   */
  private static EngineStats settledStats(Engine engine) {
    long deadline = System.nanoTime() + 2_000_000_000L;
    EngineStats s = engine.stats();
    while ((s.running() > 0 || s.waiting() > 0) && System.nanoTime() < deadline) {
      LockSupport.parkNanos(1_000_000);
      s = engine.stats();
    }
    return s;
  }

  private static void logProgress(String tag, Engine engine, EngineStats before, int done,
      int total, long start) {
    try {
      EngineStats s = engine.stats();
      double elapsed = (System.nanoTime() - start) / 1e9;
      long generated = s.generatedTokens() - before.generatedTokens();
      LOG.info("[{}] {}/{} requests done after {} s; {} running, {} waiting; {} tokens"
          + " generated ({} tokens/s); KV {}/{} blocks; {} preemptions", tag, done, total,
          ThroughputReport.num(elapsed), s.running(), s.waiting(), generated,
          ThroughputReport.num(generated / elapsed), s.kvBlocksUsed(), s.kvBlocksTotal(),
          s.preemptions() - before.preemptions());
    } catch (RuntimeException e) {
      LOG.info("[{}] {}/{} requests done (engine stats unavailable: {})", tag, done, total,
          e.toString());
    }
  }

  /**
   * Submission times relative to the first request for Poisson arrivals at {@code rate}
   * requests/s (exponential gaps, seeded); null for all at once.
   */
  static long[] arrivalOffsets(int n, double rate, long seed) {
    if (Double.isInfinite(rate)) {
      return null;
    }
    Random rnd = new Random(seed * 0x9E3779B97F4A7C15L + 1);
    long[] at = new long[n];
    double t = 0;
    for (int i = 1; i < n; i++) {
      t += -Math.log(1 - rnd.nextDouble()) / rate;
      at[i] = (long) (t * 1e9);
    }
    return at;
  }

  private static void waitUntil(long nanoTime) {
    long left;
    while ((left = nanoTime - System.nanoTime()) > 0) {
      LockSupport.parkNanos(left);
    }
  }

  static double parseRate(String s) {
    String t = s.trim().toLowerCase(Locale.ROOT);
    if (t.equals("inf") || t.equals("infinity")) {
      return Double.POSITIVE_INFINITY;
    }
    double r;
    try {
      r = Double.parseDouble(t);
    } catch (NumberFormatException e) {
      r = Double.NaN;
    }
    if (!(r > 0)) {
      throw new IllegalArgumentException("--request-rate " + s + ": give requests per second"
          + " (> 0), or inf to submit all at once");
    }
    return r;
  }

  private void validateFlags() {
    if (numRequests != null && numRequests <= 0) {
      throw new IllegalArgumentException("--num-requests must be positive, got " + numRequests);
    }
    if (promptLen <= 0) {
      throw new IllegalArgumentException("--prompt-len must be positive, got " + promptLen);
    }
    if (outputLen <= 0) {
      throw new IllegalArgumentException("--output-len must be positive, got " + outputLen);
    }
    if (sharedPrefix < 0 || sharedPrefix > promptLen) {
      throw new IllegalArgumentException("--shared-prefix " + sharedPrefix + " must be between"
          + " 0 and --prompt-len (" + promptLen + ")");
    }
    if (warmup < 0) {
      throw new IllegalArgumentException("--warmup must be >= 0, got " + warmup);
    }
    if (noPrefixCache && comparePrefixCache) {
      throw new IllegalArgumentException("--no-prefix-cache and --compare-prefix-cache"
          + " exclude each other (the comparison runs with the cache on and off)");
    }
    sched.validate();
    if (!name.matches("[A-Za-z0-9._-]+")) {
      throw new IllegalArgumentException("--name '" + name + "': use letters, digits, '.',"
          + " '_' and '-' only (it names the result files)");
    }
    if (dataset != null && !Files.isRegularFile(dataset)) {
      throw new IllegalArgumentException("--dataset " + dataset + ": no such file");
    }
  }
}
