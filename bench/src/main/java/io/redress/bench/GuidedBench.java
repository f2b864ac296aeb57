package io.redress.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.redress.inference.guide.CompiledSchema;
import io.redress.inference.guide.GrammarMatcher;
import io.redress.inference.guide.JsonSchemaCompiler;
import io.redress.inference.guide.TokenVocabulary;
import io.redress.inference.model.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Cost of guided JSON decoding on the CPU, on a real vocabulary: schema compile time, the
 * allowed-token mask per sequence-step (p50/p99, with cold caches and in steady state), a
 * batch of masks filled in parallel, and the share of output tokens jump-forward appends
 * without sampling. Sequences are random walks: each step samples uniformly among the allowed
 * tokens (the worst case for caches: any text at all) and appends forced bytes as the engine
 * would.
 */
@Command(name = "guided", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Guided JSON decoding cost: compile, mask per step, batch of masks,"
        + " jump-forward share. Writes guided.json and guided.md into --out.")
final class GuidedBench implements Callable<Integer> {

  private static final Logger LOG = LoggerFactory.getLogger(GuidedBench.class);

  /** Replies as a model writes them, for the jump-forward share of realistic output. */
  private static final List<String> SAMPLE_REPLIES = List.of(
      "{\"category\":\"delivery\",\"demands\":[\"尽快发货\",\"说明延误原因\",\"否则全额退款\"],"
          + "\"urgency\":\"high\",\"sentiment\":\"angry\",\"reply_text\":\"您好，非常抱歉让您久等了。"
          + "我们已催促仓库今天内发货，并为您补偿10元优惠券；如今天仍未发出，我们将为您办理全额退款。\"}",
      "{\"category\":\"billing\",\"demands\":[\"Refund the duplicate charge\"],\"urgency\":"
          + "\"medium\",\"sentiment\":\"frustrated\",\"reply_text\":\"Hello, we are sorry for the"
          + " double charge on your March invoice. We have refunded $49.90 to your card; it will"
          + " appear within 3-5 business days.\"}",
      "{\"category\":\"account_login\",\"demands\":[\"Restore access\",\"Explain the lockout\"],"
          + "\"urgency\":\"critical\",\"sentiment\":\"anxious\",\"reply_text\":\"Hi, your account"
          + " was locked after several failed sign-ins. We have unlocked it and sent a reset link"
          + " to your email.\"}");

  @Mixin VocabularyOptions vocabulary = new VocabularyOptions();

  @Option(names = "--schema", paramLabel = "FILE", defaultValue =
      "schemas/src/main/resources/reply.schema.json", description = "JSON Schema to guide by.")
  Path schemaPath;

  @Option(names = "--sequences", defaultValue = "300", description = "Steady-state sequences.")
  int sequences;

  @Option(names = "--max-tokens", defaultValue = "400", description = "Tokens per sequence.")
  int maxTokens;

  @Option(names = "--batch", defaultValue = "64", description = "Masks per parallel batch.")
  int batch;

  @Option(names = "--batch-steps", defaultValue = "300", description = "Timed batch steps.")
  int batchSteps;

  @Option(names = "--threads", defaultValue = "0",
      description = "Threads filling a batch (0: all hardware threads).")
  int threads;

  @Option(names = "--seed", defaultValue = "1") long seed;
  @Option(names = "--out", defaultValue = "bench-results", paramLabel = "DIR") Path out;

  /** Per-step timings of a run, in nanoseconds. */
  private record Steps(List<Double> mask, List<Double> accept, List<Double> forced,
      int sampledTokens, int forcedTokens) {}

  @Override
  public Integer call() throws Exception {
    MachineInfo machine = MachineInfo.detect();
    String schema = Files.readString(schemaPath);
    int nThreads = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();

    // The engine has loaded its tokenizer (and with it Jackson) before any schema arrives.
    Tokenizer tokenizer = vocabulary.loadTokenizer();
    long t0 = System.nanoTime();
    TokenVocabulary vocab = vocabulary.vocabulary(tokenizer);
    double vocabMs = (System.nanoTime() - t0) / 1e6;
    LOG.info("vocabulary: {} ms", fmt(vocabMs));

    // Compile: the process's first (class loading), the next new schema text (a cache miss
    // with the compiler's code still cold), then many (warm JIT).
    t0 = System.nanoTime();
    JsonSchemaCompiler.compile(schema);
    double compileFirstMs = (System.nanoTime() - t0) / 1e6;
    t0 = System.nanoTime();
    JsonSchemaCompiler.compile(schema + "\n");
    double compileColdMs = (System.nanoTime() - t0) / 1e6;
    double[] compiles = new double[500];
    for (int i = 0; i < compiles.length; i++) {
      long t = System.nanoTime();
      JsonSchemaCompiler.compile(schema);
      compiles[i] = (System.nanoTime() - t) / 1e6;
    }
    Percentiles.Summary compile = Percentiles.summarize(
        Arrays.copyOfRange(compiles, 100, compiles.length));
    LOG.info("compile: first {} ms, cold {} ms, warm p50 {} ms", fmt(compileFirstMs),
        fmt(compileColdMs), fmt(compile.p50()));

    // Cold caches, cold JIT: the very first sequence of the process.
    Random rnd = new Random(seed);
    Steps coldJit = run(JsonSchemaCompiler.compile(schema + " "), vocab, tokenizer, rnd, 1);
    // JIT warm-up on another compiled copy, then a fresh copy: cold caches, warm code.
    run(JsonSchemaCompiler.compile(schema + "  "), vocab, tokenizer, rnd, 40);
    CompiledSchema compiled = JsonSchemaCompiler.compile(schema);
    Steps cold = run(compiled, vocab, tokenizer, rnd, 1);
    Steps warm = run(compiled, vocab, tokenizer, rnd, sequences);
    Percentiles.Summary maskCold = us(cold.mask());
    Percentiles.Summary maskColdJit = us(coldJit.mask());
    Percentiles.Summary mask = us(warm.mask());
    Percentiles.Summary accept = us(warm.accept());
    Percentiles.Summary forced = us(warm.forced());
    double walkShare = share(warm.forcedTokens(), warm.sampledTokens());
    LOG.info("mask per step: p50 {} us, p99 {} us ({} steps)", fmt(mask.p50()), fmt(mask.p99()),
        mask.count());

    double[] batchMs = batchRun(compiled, vocab, rnd, nThreads);
    Percentiles.Summary batchSummary = Percentiles.summarize(batchMs);
    LOG.info("batch of {}: p50 {} ms", batch, fmt(batchSummary.p50()));
    int[] realistic = realisticShare(compiled, vocab, tokenizer);
    double realisticShare = share(realistic[1], realistic[0]);

    ObjectNode json = new ObjectMapper().createObjectNode();
    json.put("benchmark", "guided");
    json.put("schema", schemaPath.toString());
    json.put("machine", machine.describe());
    json.put("vocab_tokens", tokenizer.vocabSize());
    json.put("model_vocab", vocabulary.modelVocab);
    json.put("vocabulary_build_ms", vocabMs);
    json.put("compile_first_ms", compileFirstMs);
    json.put("compile_cold_ms", compileColdMs);
    json.put("compile_p50_ms", compile.p50());
    json.put("compile_p99_ms", compile.p99());
    put(json, "mask_us", mask);
    put(json, "mask_cold_cache_us", maskCold);
    put(json, "mask_cold_jvm_us", maskColdJit);
    put(json, "accept_token_us", accept);
    put(json, "forced_bytes_us", forced);
    put(json, "batch_ms", batchSummary);
    json.put("batch_size", batch);
    json.put("batch_threads", nThreads);
    json.put("cached_masks", compiled.cachedMasks(vocab));
    json.put("jump_forward_share_random_walks", walkShare);
    json.put("jump_forward_share_sample_replies", realisticShare);
    json.put("sequences", sequences);
    json.put("steps", mask.count());
    Files.createDirectories(out);
    new ObjectMapper().writerWithDefaultPrettyPrinter()
        .writeValue(out.resolve("guided.json").toFile(), json);
    String md = String.format("""
        # Guided JSON decoding, CPU cost per sequence-step

        | | |
        |---|---|
        | schema | %s |
        | vocabulary | %,d tokens, mask of %,d ids (%d int32 words) |
        | machine | %s |
        | vocabulary build (trie, once per model) | %.0f ms |
        | compile, the process's first schema (class loading) | %.1f ms |
        | **compile cold**: the next new schema (cache miss, compiler code not yet JIT-compiled) | **%.1f ms** |
        | compile, warm JIT | p50 %.3f ms, p99 %.3f ms |
        | **mask per sequence-step**, steady state (%,d steps, %d sequences) | **p50 %.1f us, p99 %.1f us**, mean %.1f us, max %.0f us |
        | mask, first sequence on a fresh compiled schema (cold caches) | p50 %.1f us, p99 %.0f us, max %.0f us |
        | mask, first sequence of the process (cold caches and JIT) | p50 %.1f us, p99 %.0f us, max %.0f us |
        | acceptToken / forcedBytes per step | p50 %.2f us / %.2f us, p99 %.1f us / %.1f us |
        | **batch of %d masks**, %d threads | **p50 %.2f ms, p99 %.2f ms** per batch |
        | **jump-forward share** of output tokens | %.1f %% on sample replies, %.1f %% on random walks |
        | masks cached for the schema | %d |

        Sequences are random walks (uniform among allowed tokens, forced bytes appended as the
        engine would, at most %d tokens); sample replies are realistic model outputs.
        """, schemaPath, tokenizer.vocabSize(), vocabulary.modelVocab, vocab.maskWords(),
        machine.describe(),
        vocabMs, compileFirstMs, compileColdMs, compile.p50(), compile.p99(), mask.count(),
        sequences,
        mask.p50(), mask.p99(), mask.mean(), mask.max(), maskCold.p50(), maskCold.p99(),
        maskCold.max(), maskColdJit.p50(), maskColdJit.p99(), maskColdJit.max(), accept.p50(),
        forced.p50(), accept.p99(), forced.p99(), batch, nThreads, batchSummary.p50(),
        batchSummary.p99(), 100 * realisticShare, 100 * walkShare,
        compiled.cachedMasks(vocab), maxTokens);
    Files.writeString(out.resolve("guided.md"), md);
    System.out.print(md);
    tokenizer.close();
    return 0;
  }

  /** Random-walk sequences; times each step's mask, accept and forced-bytes calls. */
  private Steps run(CompiledSchema schema, TokenVocabulary vocab, Tokenizer tokenizer,
      Random rnd, int count) {
    List<Double> mask = new ArrayList<>();
    List<Double> accept = new ArrayList<>();
    List<Double> forced = new ArrayList<>();
    int sampled = 0;
    int forcedTokens = 0;
    int[] words = new int[vocab.maskWords()];
    for (int s = 0; s < count; s++) {
      GrammarMatcher m = schema.newMatcher(vocab);
      for (int step = 0; step < maxTokens; step++) {
        long t0 = System.nanoTime();
        byte[] f = m.forcedBytes();
        forced.add((double) (System.nanoTime() - t0));
        if (f.length > 0) {
          m.acceptBytes(f);
          forcedTokens += tokenizer.encode(new String(f, StandardCharsets.UTF_8)).length;
        }
        long t1 = System.nanoTime();
        m.fillNextTokenBitmask(words, 0);
        mask.add((double) (System.nanoTime() - t1));
        int id = pick(words, rnd);
        long t2 = System.nanoTime();
        m.acceptToken(id);
        accept.add((double) (System.nanoTime() - t2));
        sampled++;
        if (m.isTerminated()) {
          break;
        }
      }
    }
    return new Steps(mask, accept, forced, sampled, forcedTokens);
  }

  /** Wall time of filling {@code batch} masks in parallel, one batch per decode step. */
  private double[] batchRun(CompiledSchema schema, TokenVocabulary vocab, Random rnd,
      int nThreads) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(nThreads);
    try {
      GrammarMatcher[] matchers = new GrammarMatcher[batch];
      int[][] words = new int[batch][vocab.maskWords()];
      for (int i = 0; i < batch; i++) {
        matchers[i] = schema.newMatcher(vocab);
      }
      double[] times = new double[batchSteps + 20];
      for (int step = 0; step < times.length; step++) {
        long t0 = System.nanoTime();
        List<Future<?>> parts = new ArrayList<>();
        for (int t = 0; t < nThreads; t++) {
          int from = batch * t / nThreads;
          int to = batch * (t + 1) / nThreads;
          parts.add(pool.submit(() -> {
            for (int i = from; i < to; i++) {
              matchers[i].fillNextTokenBitmask(words[i], 0);
            }
          }));
        }
        for (Future<?> f : parts) {
          f.get();
        }
        times[step] = (System.nanoTime() - t0) / 1e6;
        for (int i = 0; i < batch; i++) { // sample, accept; restart finished sequences
          byte[] f = matchers[i].forcedBytes();
          if (f.length > 0) {
            matchers[i].acceptBytes(f);
            matchers[i].fillNextTokenBitmask(words[i], 0);
          }
          matchers[i].acceptToken(pick(words[i], rnd));
          if (matchers[i].isTerminated()) {
            matchers[i] = schema.newMatcher(vocab);
          }
        }
      }
      return Arrays.copyOfRange(times, 20, times.length);
    } finally {
      pool.shutdownNow();
    }
  }

  /** {sampled, forced} tokens when the model writes the sample replies. */
  private static int[] realisticShare(CompiledSchema schema, TokenVocabulary vocab,
      Tokenizer tokenizer) {
    int sampled = 0;
    int forced = 0;
    for (String reply : SAMPLE_REPLIES) {
      byte[] text = reply.getBytes(StandardCharsets.UTF_8);
      GrammarMatcher m = schema.newMatcher(vocab);
      int at = 0;
      while (at < text.length) {
        byte[] f = m.forcedBytes();
        if (f.length > 0) {
          forced += tokenizer.encode(new String(f, StandardCharsets.UTF_8)).length;
          m.acceptBytes(f);
          at += f.length;
          continue;
        }
        // The model's next token: the first token of the rest of the text.
        String rest = new String(text, at, text.length - at, StandardCharsets.UTF_8);
        int id = tokenizer.encode(rest)[0];
        if (!m.acceptToken(id)) {
          throw new IllegalStateException("sample reply refused at byte " + at);
        }
        at += tokenizer.tokenBytes(id).length;
        sampled++;
      }
    }
    return new int[] {sampled, forced};
  }

  private static int pick(int[] words, Random rnd) {
    int total = 0;
    for (int w : words) {
      total += Integer.bitCount(w);
    }
    int k = rnd.nextInt(total);
    for (int i = 0; i < words.length; i++) {
      int c = Integer.bitCount(words[i]);
      if (k < c) {
        int w = words[i];
        for (int j = 0; j < k; j++) {
          w &= w - 1;
        }
        return i * 32 + Integer.numberOfTrailingZeros(w);
      }
      k -= c;
    }
    throw new IllegalStateException("empty mask");
  }

  private static Percentiles.Summary us(List<Double> nanos) {
    return Percentiles.summarize(nanos.stream().mapToDouble(Double::doubleValue).toArray())
        .scaled(1e-3);
  }

  private static double share(int forced, int sampled) {
    return forced + sampled == 0 ? 0 : forced / (double) (forced + sampled);
  }

  private static void put(ObjectNode json, String name, Percentiles.Summary s) {
    ObjectNode o = json.putObject(name);
    o.put("count", s.count());
    o.put("mean", s.mean());
    o.put("p50", s.p50());
    o.put("p90", s.p90());
    o.put("p99", s.p99());
    o.put("max", s.max());
  }

  private static String fmt(double v) {
    return String.format("%.2f", v);
  }
}
