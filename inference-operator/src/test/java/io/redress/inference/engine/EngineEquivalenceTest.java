package io.redress.inference.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.model.ChatTemplate;
import io.redress.inference.runtime.cpu.CpuGenerator;
import io.redress.inference.runtime.cpu.CpuModel;
import io.redress.inference.runtime.cpu.CpuModelRunner;
import io.redress.inference.testing.Fixtures;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Batched, paged, chunked, prefix-cached and preempted generation gives exactly the greedy
 * tokens of each sequence run alone on the plain reference path.
 */
class EngineEquivalenceTest {

  private static final int REQUESTS = 64;
  private static final int MAX_TOKENS = 12;
  static Path dir;
  private static CpuModel model;
  private static List<int[]> prompts;
  private static List<List<Integer>> expected;

  @BeforeAll
  static void referenceAlone() {
    dir = Fixtures.modelDir("qwen2-small-untied");
    model = CpuModel.load(dir);
    prompts = overlappingPrompts(new Random(11));
    CpuGenerator alone = new CpuGenerator(model);
    expected = new ArrayList<>();
    for (int[] p : prompts) {
      expected.add(alone.generate(p, params(), id -> { }).tokenIds());
    }
  }

  /** A shared 40-token "system prompt", one of 4 20-token templates, then a unique tail. */
  static List<int[]> overlappingPrompts(Random r) {
    int[] system = r.ints(40, 0, 2048).toArray();
    int[][] templates = new int[4][];
    for (int t = 0; t < 4; t++) {
      templates[t] = r.ints(20, 0, 2048).toArray();
    }
    List<int[]> out = new ArrayList<>();
    for (int i = 0; i < REQUESTS; i++) {
      int[] tail = r.ints(1 + r.nextInt(40), 0, 2048).toArray();
      int[] p = new int[60 + tail.length];
      System.arraycopy(system, 0, p, 0, 40);
      System.arraycopy(templates[i % 4], 0, p, 40, 20);
      System.arraycopy(tail, 0, p, 60, tail.length);
      out.add(i % 7 == 0 ? java.util.Arrays.copyOf(p, 60) : p); // some prompts end on a block edge
    }
    return out;
  }

  static SamplingParams params() {
    return SamplingParams.greedy(MAX_TOKENS).withIgnoreEos(true);
  }

  CpuModelRunner runner;

  /** Whether the runner lets the engine schedule decode steps ahead (the pipelined twin). */
  boolean pipelined() {
    return false;
  }

  EngineStats runAll(EngineConfig config, int numBlocks) {
    runner = CpuModelRunner.recording(model, config.blockSize(), numBlocks)
        .pipelining(pipelined());
    try (LlmEngine engine = new LlmEngine(config, runner, null, ChatTemplate.chatml())) {
      List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
      for (int i = 0; i < REQUESTS; i++) {
        futures.add(engine.submit(GenerationRequest.ofTokens("r" + i, prompts.get(i),
            params())));
      }
      for (int i = 0; i < REQUESTS; i++) {
        GenerationResult r = futures.get(i).join();
        assertThat(r.finishReason()).as("request %d: %s", i, r.message())
            .isEqualTo(FinishReason.LENGTH);
        assertThat(r.tokenIds()).as("request %d", i).isEqualTo(expected.get(i));
        assertThat(r.promptTokens()).isEqualTo(prompts.get(i).length);
      }
      // Stats are a snapshot the loop publishes after each step: wait for the final one.
      long deadline = System.nanoTime() + 10_000_000_000L;
      while ((engine.stats().running() > 0 || engine.stats().kvBlocksUsed() > 0)
          && System.nanoTime() < deadline) {
        Thread.onSpinWait();
      }
      EngineStats stats = engine.stats();
      assertThat(stats.kvBlocksUsed()).as("blocks held after all finished").isZero();
      return stats;
    }
  }

  @Test
  void defaults() {
    EngineStats stats = runAll(EngineConfig.builder(dir).build(), 2048);
    assertThat(stats.generatedTokens()).isEqualTo((long) REQUESTS * MAX_TOKENS);
    assertThat(stats.preemptions()).isZero();
  }

  @Test
  void tinyBlocksAndAPoolSmallEnoughToPreempt() {
    // 40 blocks of 4 tokens = 160 slots: two or three sequences at a time at most.
    EngineStats stats = runAll(EngineConfig.builder(dir).blockSize(4).build(), 40);
    assertThat(stats.preemptions()).as("preemptions").isPositive();
  }

  @Test
  void chunkedPrefillWithA32TokenBudget() {
    runAll(EngineConfig.builder(dir).maxNumBatchedTokens(32).build(), 2048);
    var steps = runner.history();
    assertThat(steps).allSatisfy(step -> assertThat(step.stream()
        .mapToInt(io.redress.inference.runtime.SeqStep::numNewTokens).sum())
        .isLessThanOrEqualTo(32));
    // The first prompt (100 tokens, nothing cached yet) needed several chunks that did not
    // sample, and some steps mixed a chunk with decodes.
    assertThat(steps.stream().flatMap(List::stream).filter(s -> !s.sample())).isNotEmpty();
    assertThat(steps).anySatisfy(step -> {
      assertThat(step).anyMatch(s -> s.numNewTokens() > 1);
      assertThat(step).anyMatch(s -> s.numNewTokens() == 1 && s.startPos() > 60);
    });
  }

  @Test
  void withoutPrefixCachingToo() {
    EngineStats stats = runAll(EngineConfig.builder(dir).enablePrefixCaching(false).build(),
        2048);
    assertThat(stats.prefixHitTokens()).isZero();
  }
}
