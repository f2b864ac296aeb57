package io.redress.inference.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.redress.inference.model.ChatTemplate;
import io.redress.inference.model.Tokenizer;
import io.redress.inference.runtime.SeqStep;
import io.redress.inference.runtime.cpu.CpuGenerator;
import io.redress.inference.runtime.cpu.CpuModel;
import io.redress.inference.runtime.cpu.CpuModelRunner;
import io.redress.inference.testing.Fixtures;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Prefix reuse, errors, cancellation, streaming and stop conditions of the engine. */
class EngineBehaviourTest {

  private static Path dir;
  private static CpuModel model;
  private CpuModelRunner runner;
  private LlmEngine engine;

  @BeforeAll
  static void load() {
    dir = Fixtures.modelDir("qwen2-small-untied");
    model = CpuModel.load(dir);
  }

  private LlmEngine open(EngineConfig config, int numBlocks, Tokenizer tokenizer) {
    runner = CpuModelRunner.recording(model, config.blockSize(), numBlocks);
    engine = new LlmEngine(config, runner, tokenizer, ChatTemplate.chatml());
    return engine;
  }

  @AfterEach
  void close() {
    if (engine != null) {
      engine.close();
    }
  }

  @Test
  void secondRequestReusesA200TokenPrefixAndComputesOnlyTheRest() {
    open(EngineConfig.builder(dir).build(), 256, null);
    Random r = new Random(3);
    int[] shared = r.ints(200, 0, 2048).toArray();
    int[] first = concat(shared, r.ints(17, 0, 2048).toArray());
    int[] second = concat(shared, r.ints(23, 0, 2048).toArray());
    GenerationResult a = engine.submit(GenerationRequest.ofTokens("a", first,
        SamplingParams.greedy(4).withIgnoreEos(true))).join();
    assertThat(a.cachedTokens()).isZero();
    int stepsBefore = runner.history().size();
    GenerationResult b = engine.submit(GenerationRequest.ofTokens("b", second,
        SamplingParams.greedy(4).withIgnoreEos(true))).join();
    // 200 shared tokens = 12 full blocks of 16 (192 tokens); the 13th block differs.
    assertThat(b.cachedTokens()).isEqualTo(192);
    SeqStep prefill = runner.history().get(stepsBefore).get(0);
    assertThat(prefill.startPos()).isEqualTo(192);
    assertThat(prefill.numNewTokens()).isEqualTo(second.length - 192);
    // And the result equals the plain path.
    assertThat(b.tokenIds()).isEqualTo(new CpuGenerator(model).generate(second,
        SamplingParams.greedy(4).withIgnoreEos(true), id -> { }).tokenIds());
    assertThat(engine.stats().prefixHitTokens()).isEqualTo(192);
  }

  @Test
  void tooLongPromptFailsAloneWithAClearMessage() {
    open(EngineConfig.builder(dir).maxModelLen(128).build(), 256, null);
    CompletableFuture<GenerationResult> ok = engine.submit(GenerationRequest.ofTokens("ok",
        new int[] {1, 2, 3}, SamplingParams.greedy(8).withIgnoreEos(true)));
    GenerationResult tooLong = engine.submit(GenerationRequest.ofTokens("long",
        new int[300], SamplingParams.greedy(8))).join();
    assertThat(tooLong.finishReason()).isEqualTo(FinishReason.ERROR);
    assertThat(tooLong.message()).contains("300 tokens", "128");
    assertThat(ok.join().finishReason()).isEqualTo(FinishReason.LENGTH);
    assertThat(ok.join().completionTokens()).isEqualTo(8);
  }

  @Test
  void outputStopsAtMaxModelLen() {
    open(EngineConfig.builder(dir).maxModelLen(20).build(), 256, null);
    GenerationResult r = engine.submit(GenerationRequest.ofTokens("x", new int[15],
        SamplingParams.greedy(100).withIgnoreEos(true))).join();
    assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
    assertThat(r.completionTokens()).isEqualTo(5);
  }

  @Test
  void submitAfterCloseThrows() {
    open(EngineConfig.builder(dir).build(), 64, null).close();
    assertThatThrownBy(() -> engine.submit(GenerationRequest.ofTokens("late", new int[] {1},
        SamplingParams.greedy(1))))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
  }

  @Test
  void closeAbortsWhatIsInFlight() throws InterruptedException {
    open(EngineConfig.builder(dir).build(), 256, null);
    CountDownLatch started = new CountDownLatch(1);
    CompletableFuture<GenerationResult> f = engine.submit(GenerationRequest.ofTokens("long",
        new int[] {5, 6, 7}, SamplingParams.greedy(100_000).withIgnoreEos(true))
        .withListener((id, token, index) -> started.countDown()));
    assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
    engine.close();
    assertThat(f.join().finishReason()).isEqualTo(FinishReason.ABORT);
  }

  @Test
  void cancelFreesTheRequestsBlocks() throws InterruptedException {
    open(EngineConfig.builder(dir).build(), 256, null);
    CountDownLatch tokens = new CountDownLatch(3);
    CompletableFuture<GenerationResult> f = engine.submit(GenerationRequest.ofTokens("c",
        new Random(1).ints(100, 0, 2048).toArray(),
        SamplingParams.greedy(100_000).withIgnoreEos(true))
        .withListener((id, token, index) -> tokens.countDown()));
    assertThat(tokens.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(engine.stats().kvBlocksUsed()).isPositive();
    assertThat(engine.cancel("c")).isTrue();
    GenerationResult r = f.join();
    assertThat(r.finishReason()).isEqualTo(FinishReason.ABORT);
    assertThat(r.completionTokens()).isGreaterThanOrEqualTo(3);
    awaitStats(() -> engine.stats().kvBlocksUsed() == 0 && engine.stats().running() == 0);
    assertThat(engine.cancel("c")).isFalse();
  }

  @Test
  void streamingSeesEveryTokenInOrder() {
    open(EngineConfig.builder(dir).build(), 256, null);
    List<Integer> streamed = new ArrayList<>();
    List<Integer> indexes = new ArrayList<>();
    GenerationResult r = engine.submit(GenerationRequest.ofTokens("s", new int[] {9, 8, 7},
        SamplingParams.greedy(10).withIgnoreEos(true)).withListener((id, token, index) -> {
          streamed.add(token);
          indexes.add(index);
        })).join();
    assertThat(streamed).isEqualTo(r.tokenIds());
    assertThat(indexes).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    assertThat(r.firstTokenNanos()).isPositive().isLessThanOrEqualTo(r.totalNanos());
    assertThat(r.queueNanos()).isLessThanOrEqualTo(r.firstTokenNanos());
  }

  @Test
  void stopTokenIdsAndStopStrings() {
    try (Tokenizer tokenizer = Tokenizer.load(dir)) {
      open(EngineConfig.builder(dir).build(), 256, tokenizer);
      SamplingParams free = SamplingParams.greedy(24).withIgnoreEos(true);
      GenerationResult full = engine.submit(GenerationRequest.ofText("f", "Hello there",
          free)).join();
      int third = full.tokenIds().get(2);
      int firstIndex = full.tokenIds().indexOf(third);
      GenerationResult byId = engine.submit(GenerationRequest.ofText("i", "Hello there",
          free.withStopTokenIds(List.of(third)))).join();
      assertThat(byId.finishReason()).isEqualTo(FinishReason.STOP);
      assertThat(byId.tokenIds()).isEqualTo(full.tokenIds().subList(0, firstIndex + 1));

      // A stop string taken from the middle of the full text: output ends right before it.
      String text = full.text();
      String stop = text.substring(text.length() / 2, text.length() / 2 + 2);
      GenerationResult byString = engine.submit(GenerationRequest.ofText("s", "Hello there",
          free.withStop(List.of(stop)))).join();
      assertThat(byString.finishReason()).isEqualTo(FinishReason.STOP);
      assertThat(byString.text()).isEqualTo(text.substring(0, text.indexOf(stop)));
    } finally {
      engine.close();
      engine = null;
    }
  }

  @Test
  void duplicateIdsAndEmptyPromptsAreErrors() {
    open(EngineConfig.builder(dir).batchWindow(Duration.ZERO).build(), 256, null);
    GenerationResult empty = engine.submit(GenerationRequest.ofTokens("e", new int[0],
        SamplingParams.greedy(2))).join();
    assertThat(empty.finishReason()).isEqualTo(FinishReason.ERROR);
    assertThat(empty.message()).contains("empty prompt");
    GenerationResult badId = engine.submit(GenerationRequest.ofTokens("b", new int[] {99999},
        SamplingParams.greedy(2))).join();
    assertThat(badId.message()).contains("99999", "vocabulary");
    GenerationResult text = engine.submit(GenerationRequest.ofText("t", "hi",
        SamplingParams.greedy(2))).join();
    assertThat(text.message()).contains("tokenizer.json");
  }

  private static int[] concat(int[] a, int[] b) {
    int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static void awaitStats(java.util.function.BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not reached in 10 s");
      }
      Thread.onSpinWait();
    }
  }
}
