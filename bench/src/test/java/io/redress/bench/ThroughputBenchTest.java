package io.redress.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.redress.inference.engine.Engine;
import io.redress.inference.engine.EngineConfig;
import io.redress.inference.engine.EngineStats;
import io.redress.inference.engine.FinishReason;
import io.redress.inference.engine.GenerationRequest;
import io.redress.inference.engine.GenerationResult;
import io.redress.inference.model.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The throughput CLI end to end over a fake engine (the real one is tested elsewhere). */
class ThroughputBenchTest {

  @TempDir Path tmp;
  Path model;
  final List<FakeEngine> opened = Collections.synchronizedList(new ArrayList<>());

  @BeforeEach
  void writeModelConfig() throws Exception {
    model = tinyModelConfig(tmp);
  }

  /** dir/model with a tiny Qwen2 config.json (no weights: the engines here are fakes). */
  static Path tinyModelConfig(Path dir) throws Exception {
    Path model = Files.createDirectories(dir.resolve("model"));
    Files.writeString(model.resolve("config.json"), """
        {"architectures": ["Qwen2ForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
         "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2,
         "vocab_size": 500, "max_position_embeddings": 512, "rope_theta": 10000.0,
         "rms_norm_eps": 1e-6, "tie_word_embeddings": true, "torch_dtype": "float32",
         "eos_token_id": 1}
        """);
    return model;
  }

  private ThroughputBench bench(String... args) {
    ThroughputBench b = new ThroughputBench();
    new CommandLine(b).parseArgs(args);
    b.engineFactory = c -> {
      FakeEngine e = new FakeEngine(c);
      opened.add(e);
      return e;
    };
    return b;
  }

  private String runCapturingStdout(ThroughputBench b) throws Exception {
    PrintStream old = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
    try {
      assertThat(b.call()).isZero();
    } finally {
      System.setOut(old);
    }
    return buf.toString(StandardCharsets.UTF_8);
  }

  @Test
  void comparesPrefixCacheOnAndOffInOneReport() throws Exception {
    Path out = tmp.resolve("out");
    String md = runCapturingStdout(bench("--model", model.toString(), "--num-requests", "12",
        "--prompt-len", "40", "--shared-prefix", "32", "--output-len", "5",
        "--compare-prefix-cache", "--warmup", "2", "--out", out.toString(), "--name", "t1"));

    assertThat(opened).hasSize(2);
    assertThat(opened.get(0).config.enablePrefixCaching()).isTrue();
    assertThat(opened.get(1).config.enablePrefixCaching()).isFalse();
    assertThat(opened).allSatisfy(e -> {
      assertThat(e.closed).isTrue();
      assertThat(e.submitted).hasSize(14); // 2 warm-up + 12 timed
    });
    // Warm-up prompts share no block with the timed ones.
    List<int[]> ps = opened.get(0).submitted;
    assertThat(FakeEngine.commonPrefix(ps.get(0), ps.get(2))).isLessThan(16);
    // Timed prompts: 40 tokens, the first 32 the same in all.
    assertThat(ps.subList(2, 14)).allSatisfy(p -> {
      assertThat(p).hasSize(40);
      assertThat(FakeEngine.commonPrefix(p, ps.get(2))).isGreaterThanOrEqualTo(32);
    });

    assertThat(md).isEqualTo(Files.readString(out.resolve("t1.md")))
        .contains("| metric | prefix cache on | prefix cache off |")
        .contains("output tokens/s").contains("TTFT p99 (ms)");
    JsonNode json = new ObjectMapper().readTree(out.resolve("t1.json").toFile());
    assertThat(json.get("benchmark").asText()).isEqualTo("throughput");
    assertThat(json.at("/workload/shared_prefix").asInt()).isEqualTo(32);
    assertThat(json.at("/workload/request_rate_per_s").isNull()).isTrue();
    assertThat(json.at("/engine_settings/block_size").asInt()).isEqualTo(16);
    assertThat(json.at("/machine/cores").asInt()).isPositive();
    JsonNode on = json.get("runs").get(0);
    JsonNode off = json.get("runs").get(1);
    assertThat(on.get("label").asText()).isEqualTo("prefix_cache_on");
    assertThat(on.get("completed").asInt()).isEqualTo(12);
    assertThat(on.get("output_tokens").asLong()).isEqualTo(60);
    assertThat(on.get("prompt_tokens").asLong()).isEqualTo(480);
    // 11 of 12 requests find the 2 full shared blocks (32 tokens) cached.
    assertThat(on.get("cached_tokens").asLong()).isEqualTo(11 * 32);
    assertThat(on.get("engine_prefix_hit_tokens").asLong()).isEqualTo(11 * 32);
    assertThat(off.get("prefix_hit_rate").asDouble()).isZero();
    assertThat(on.at("/ttft_ms/count").asInt()).isEqualTo(12);
    assertThat(on.at("/ttft_ms/p50").asDouble()).isEqualTo(5.0);
    assertThat(on.at("/tpot_ms/p50").asDouble()).isEqualTo(0.5);
    assertThat(on.get("queue_ms_mean").asDouble()).isEqualTo(1.0);
    assertThat(on.get("preemptions").asLong()).isZero();
    assertThat(on.get("output_tokens_per_s").asDouble()).isPositive();
    assertThat(json.at("/comparison/numerator").asText()).isEqualTo("prefix_cache_on");
  }

  @Test
  void readsDatasetLinesOfTextAndTokenIds() throws Exception {
    Path data = tmp.resolve("d.jsonl");
    Files.writeString(data, """
        {"prompt": "hello there", "output_len": 3}

        {"prompt_ids": [5, 6, 7, 8], "output_len": 4}
        {"prompt_ids": [9, 10]}
        """);
    Path out = tmp.resolve("out");
    runCapturingStdout(bench("--model", model.toString(), "--dataset", data.toString(),
        "--output-len", "2", "--warmup", "0", "--out", out.toString()));
    JsonNode json = new ObjectMapper().readTree(out.resolve("throughput.json").toFile());
    assertThat(json.at("/workload/mode").asText()).isEqualTo("dataset");
    assertThat(json.at("/workload/num_requests").asInt()).isEqualTo(3);
    assertThat(json.at("/runs/0/output_tokens").asLong()).isEqualTo(3 + 4 + 2);
    assertThat(opened.get(0).texts).containsExactly("hello there");
  }

  @Test
  void poissonArrivalsStartAtZeroAndAverageOneOverTheRate() {
    long[] at = ThroughputBench.arrivalOffsets(20001, 50, 7);
    assertThat(at[0]).isZero();
    assertThat(at).isSorted();
    assertThat(at[20000] / 20000 / 1e9).isBetween(0.019, 0.021);
    assertThat(ThroughputBench.arrivalOffsets(5, Double.POSITIVE_INFINITY, 7)).isNull();
    assertThat(ThroughputBench.arrivalOffsets(50, 3, 9))
        .containsExactly(ThroughputBench.arrivalOffsets(50, 3, 9));
  }

  @Test
  void badFlagsGiveOneLineErrors() {
    String m = model.toString();
    assertThatThrownBy(() -> bench("--model", m, "--prompt-len", "8", "--shared-prefix", "9")
        .call()).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("--shared-prefix 9 must be between 0 and --prompt-len (8)");
    assertThatThrownBy(() -> bench("--model", m, "--dataset", tmp.resolve("nope.jsonl")
        .toString()).call()).hasMessageEndingWith("nope.jsonl: no such file");
    assertThatThrownBy(() -> bench("--model", m, "--request-rate", "fast").call())
        .hasMessageContaining("--request-rate fast");
    assertThatThrownBy(() -> bench("--model", m, "--no-prefix-cache",
        "--compare-prefix-cache").call()).hasMessageContaining("exclude each other");
    assertThatThrownBy(() -> bench("--model", m, "--device", "tpu").call())
        .hasMessageContaining("unknown device 'tpu'");
    assertThatThrownBy(() -> bench("--model", m, "--prompt-len", "500", "--output-len", "64",
        "--out", tmp.resolve("o").toString()).call())
        .hasMessageContaining("max_position_embeddings (512)");
    assertThatThrownBy(() -> bench("--model", m, "--block-size", "12").call())
        .hasMessageContaining("--block-size must be a power of two");
    assertThat(opened).isEmpty();
  }

  @Test
  void badDatasetLinesNameTheLine() throws Exception {
    Path data = tmp.resolve("bad.jsonl");
    Files.writeString(data, "{\"prompt\": \"ok\"}\n{\"output_len\": 3}\n");
    assertThatThrownBy(() -> ThroughputWorkload.fromJsonl(data, 500, 8, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("bad.jsonl line 2: no \"prompt\" or \"prompt_ids\"");
    Files.writeString(data, "[1, 2]\n");
    assertThatThrownBy(() -> ThroughputWorkload.fromJsonl(data, 500, 8, null))
        .hasMessageContaining("line 1: not a JSON object");
    Files.writeString(data, "{\"prompt_ids\": [1, 999]}\n");
    assertThatThrownBy(() -> ThroughputWorkload.fromJsonl(data, 500, 8, null))
        .hasMessageContaining("prompt_ids[1] = 999 is not a token id");
    Files.writeString(data, "{\"prompt\": \"x\", \"output_len\": 0}\n");
    assertThatThrownBy(() -> ThroughputWorkload.fromJsonl(data, 500, 8, null))
        .hasMessageContaining("\"output_len\" must be a positive integer");
    Files.writeString(data, "\n\n");
    assertThatThrownBy(() -> ThroughputWorkload.fromJsonl(data, 500, 8, null))
        .hasMessageContaining("holds no requests");
  }

  @Test
  void failedRequestsAreCountedAndLeftOutOfLatencies() {
    GenerationResult ok = new GenerationResult("a", "", List.of(1, 2, 3), FinishReason.LENGTH,
        null, 10, 0, 3, 1_000_000, 2_000_000, 4_000_000);
    GenerationResult bad = GenerationResult.failed("b", FinishReason.ERROR, "prompt too long",
        5000, 100);
    EngineStats zero = new EngineStats(0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    ThroughputRun r = ThroughputRun.of("x", true, 0.1, 2.0, List.of(ok, bad), zero, zero);
    assertThat(r.completed()).isEqualTo(1);
    assertThat(r.failed()).isEqualTo(1);
    assertThat(r.firstError()).isEqualTo("error: prompt too long");
    assertThat(r.e2eMs().count()).isEqualTo(1);
    assertThat(r.tpotMs().p50()).isEqualTo(1.0);
    assertThat(r.requestsPerSecond()).isEqualTo(0.5);
    assertThat(r.stats().prefixHitRate()).isNaN();
  }

  /**
   * Completes each request on a pool thread with fixed timings: queue 1 ms, first token 5 ms,
   * then 0.5 ms per token. With prefix caching on, a prompt's cached tokens are the full
   * 16-token blocks it shares with an earlier prompt.
   */
  static final class FakeEngine implements Engine {
    final EngineConfig config;
    final List<int[]> submitted = Collections.synchronizedList(new ArrayList<>());
    final List<GenerationRequest> requests = Collections.synchronizedList(new ArrayList<>());
    final List<String> texts = Collections.synchronizedList(new ArrayList<>());
    final ExecutorService pool = Executors.newFixedThreadPool(4);
    final AtomicLong prompt = new AtomicLong();
    final AtomicLong hits = new AtomicLong();
    final AtomicLong generated = new AtomicLong();
    final AtomicLong steps = new AtomicLong();
    volatile boolean closed;

    FakeEngine(EngineConfig config) {
      this.config = config;
    }

    static int commonPrefix(int[] a, int[] b) {
      int n = 0;
      while (n < Math.min(a.length, b.length) && a[n] == b[n]) {
        n++;
      }
      return n;
    }

    @Override
    public synchronized CompletableFuture<GenerationResult> submit(GenerationRequest r) {
      int[] ids = r.promptTokenIds();
      if (ids == null) {
        texts.add(r.prompt());
        ids = IntStream.range(0, r.prompt().split(" ").length).toArray();
      }
      int cached = 0;
      if (config.enablePrefixCaching()) {
        for (int[] earlier : submitted) {
          cached = Math.max(cached, commonPrefix(ids, earlier) / 16 * 16);
        }
      }
      submitted.add(ids);
      requests.add(r);
      int promptTokens = ids.length;
      int cachedTokens = cached;
      int n = r.params().maxTokens();
      return CompletableFuture.supplyAsync(() -> {
        prompt.addAndGet(promptTokens);
        hits.addAndGet(cachedTokens);
        generated.addAndGet(n);
        steps.addAndGet(n);
        return new GenerationResult(r.requestId(), "", IntStream.range(0, n).boxed().toList(),
            FinishReason.LENGTH, null, promptTokens, cachedTokens, n, 1_000_000, 5_000_000,
            5_000_000 + (n - 1) * 500_000L);
      }, pool);
    }

    @Override
    public boolean cancel(String requestId) {
      return false;
    }

    @Override
    public EngineStats stats() {
      return new EngineStats(0, 0, 0, 1000, prompt.get(), hits.get(), generated.get(), 0,
          steps.get(), 0, 0, 0, 0, 0);
    }

    @Override
    public String device() {
      return "fake";
    }

    @Override
    public Tokenizer tokenizer() {
      return null;
    }

    @Override
    public void close() {
      closed = true;
      pool.shutdown();
    }
  }
}
