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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Pipelined decode (steps scheduled ahead of their tokens, fed on the runner) where sequences
 * end at different steps, by length, by a stop token the schedule could not foresee, or by a
 * cancel: every request gets exactly the plain path's tokens, and nothing leaks.
 */
class EnginePipelineTest {

  private static Path dir;
  private static CpuModel model;

  @BeforeAll
  static void load() {
    dir = Fixtures.modelDir("qwen2-small-untied");
    model = CpuModel.load(dir);
  }

  @Test
  void sequencesEndingByLengthStopTokenOrSamplingMatchThePlainPath() {
    Random r = new Random(21);
    CpuGenerator alone = new CpuGenerator(model);
    int n = 24;
    List<int[]> prompts = new ArrayList<>();
    List<SamplingParams> params = new ArrayList<>();
    List<CpuGenerator.Output> expected = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int[] prompt = r.ints(5 + r.nextInt(30), 0, 2048).toArray();
      SamplingParams p = SamplingParams.greedy(3 + r.nextInt(18)).withIgnoreEos(true);
      if (i % 2 == 1) {
        p = p.withTemperature(0.8).withSeed(100L + i);
      }
      if (i % 3 == 0) {
        // A stop token this request samples a few tokens in (unless its budget ends first):
        // the step after it is already scheduled when it comes.
        List<Integer> free = alone.generate(prompt, p, id -> { }).tokenIds();
        p = p.withStopTokenIds(List.of(free.get(Math.min(3, free.size() - 1))));
      }
      prompts.add(prompt);
      params.add(p);
      expected.add(alone.generate(prompt, p, id -> { }));
    }
    CpuModelRunner runner = CpuModelRunner.create(model, 16, 512, 0.5, 512).pipelining(true);
    try (LlmEngine engine = new LlmEngine(EngineConfig.builder(dir).build(), runner, null,
        ChatTemplate.chatml())) {
      List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        futures.add(engine.submit(GenerationRequest.ofTokens("r" + i, prompts.get(i),
            params.get(i))));
      }
      int stopped = 0;
      for (int i = 0; i < n; i++) {
        GenerationResult res = futures.get(i).join();
        CpuGenerator.Output want = expected.get(i);
        assertThat(res.tokenIds()).as("request %d", i).isEqualTo(want.tokenIds());
        assertThat(res.finishReason()).as("request %d: %s", i, res.message())
            .isEqualTo(want.finish() == CpuGenerator.Finish.STOP ? FinishReason.STOP
                : FinishReason.LENGTH);
        stopped += res.finishReason() == FinishReason.STOP ? 1 : 0;
      }
      assertThat(stopped).as("requests ended by a stop token").isPositive();
      assertThat(runner.fedSteps()).as("fed steps").isPositive();
      awaitIdle(engine);
    }
  }

  @Test
  void aFullBatchRunsAheadWhileOthersWait() {
    Random r = new Random(4);
    CpuGenerator alone = new CpuGenerator(model);
    List<int[]> prompts = new ArrayList<>();
    List<SamplingParams> params = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      prompts.add(r.ints(8 + r.nextInt(20), 0, 2048).toArray());
      params.add(SamplingParams.greedy(6 + r.nextInt(10)).withIgnoreEos(true));
    }
    CpuModelRunner runner = CpuModelRunner.recording(model, 16, 256).pipelining(true);
    try (LlmEngine engine = new LlmEngine(EngineConfig.builder(dir).maxNumSeqs(3).build(),
        runner, null, ChatTemplate.chatml())) {
      List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
      for (int i = 0; i < prompts.size(); i++) {
        futures.add(engine.submit(GenerationRequest.ofTokens("r" + i, prompts.get(i),
            params.get(i))));
      }
      for (int i = 0; i < prompts.size(); i++) {
        assertThat(futures.get(i).join().tokenIds()).as("request %d", i)
            .isEqualTo(alone.generate(prompts.get(i), params.get(i), id -> { }).tokenIds());
      }
      // Three at a time from twelve: most decode steps ran while others waited.
      assertThat(runner.fedSteps()).as("fed steps").isGreaterThan(runner.history().size() / 3);
      awaitIdle(engine);
    }
  }

  @Test
  void requestsArrivingWhileStepsRunAheadAreAdmittedAheadAndMatchThePlainPath() {
    Random r = new Random(8);
    CpuGenerator alone = new CpuGenerator(model);
    int n = 10;
    List<int[]> prompts = new ArrayList<>();
    List<SamplingParams> params = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      prompts.add(r.ints(6 + r.nextInt(40), 0, 2048).toArray());
      SamplingParams p = SamplingParams.greedy(8 + r.nextInt(12)).withIgnoreEos(true);
      params.add(i % 3 == 2 ? p.withTemperature(0.9).withSeed(7L + i) : p);
    }
    CpuModelRunner runner = CpuModelRunner.create(model, 16, 256, 0.5, 256).pipelining(true);
    // A 24-token budget chunks the longer prompts, so some admissions take several steps.
    try (LlmEngine engine = new LlmEngine(EngineConfig.builder(dir).maxNumBatchedTokens(24)
        .build(), runner, null, ChatTemplate.chatml())) {
      List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
      // Each request arrives as the one before streams its second token, while steps run.
      CountDownLatch[] second = new CountDownLatch[n];
      for (int i = 0; i < n; i++) {
        second[i] = new CountDownLatch(1);
        CountDownLatch mine = second[i];
        futures.add(engine.submit(GenerationRequest.ofTokens("r" + i, prompts.get(i),
            params.get(i)).withListener((id, token, index) -> {
              if (index == 1) {
                mine.countDown();
              }
            })));
        try {
          assertThat(mine.await(10, TimeUnit.SECONDS)).isTrue();
        } catch (InterruptedException e) {
          throw new AssertionError(e);
        }
      }
      for (int i = 0; i < n; i++) {
        assertThat(futures.get(i).join().tokenIds()).as("request %d", i)
            .isEqualTo(alone.generate(prompts.get(i), params.get(i), id -> { }).tokenIds());
      }
      assertThat(runner.fedAdmittingSteps()).as("fed steps that admitted").isPositive();
      awaitIdle(engine);
    }
  }

  @Test
  void aCancelWhileTheNextStepIsAheadFreesItsBlocksAndSparesTheOthers()
      throws InterruptedException {
    CpuModelRunner runner = CpuModelRunner.create(model, 16, 256, 0.5, 256).pipelining(true);
    int[] keepPrompt = new Random(2).ints(40, 0, 2048).toArray();
    SamplingParams keepParams = SamplingParams.greedy(40).withIgnoreEos(true);
    List<Integer> keepExpected = new CpuGenerator(model).generate(keepPrompt, keepParams,
        id -> { }).tokenIds();
    try (LlmEngine engine = new LlmEngine(EngineConfig.builder(dir).build(), runner, null,
        ChatTemplate.chatml())) {
      CountDownLatch tokens = new CountDownLatch(3);
      CompletableFuture<GenerationResult> cancelled = engine.submit(GenerationRequest.ofTokens(
          "c", new Random(1).ints(100, 0, 2048).toArray(),
          SamplingParams.greedy(100_000).withIgnoreEos(true))
          .withListener((id, token, index) -> tokens.countDown()));
      CompletableFuture<GenerationResult> kept = engine.submit(GenerationRequest.ofTokens("k",
          keepPrompt, keepParams));
      assertThat(tokens.await(10, TimeUnit.SECONDS)).isTrue();
      assertThat(engine.cancel("c")).isTrue();
      assertThat(cancelled.join().finishReason()).isEqualTo(FinishReason.ABORT);
      assertThat(kept.join().tokenIds()).isEqualTo(keepExpected);
      assertThat(runner.fedSteps()).as("fed steps").isPositive();
      awaitIdle(engine);
    }
  }

  @Test
  void guidedRepliesRunAheadWithTheirMasksAndMatchThePlainLoop() throws Exception {
    Path tiny = Fixtures.modelDir("qwen2-tiny-tied");
    CpuModel tinyModel = CpuModel.load(tiny);
    String schema = java.nio.file.Files.readString(Fixtures.resource("guide/reply.schema.json"));
    var validator = com.networknt.schema.JsonSchemaFactory.getInstance(
        com.networknt.schema.SpecVersion.VersionFlag.V202012).getSchema(schema);
    int n = 8; // above the jump-forward limit, so forced tokens are sampled one per step
    List<List<Integer>> plain = new ArrayList<>();
    List<GenerationResult> ahead = new ArrayList<>();
    for (boolean pipelined : new boolean[] {false, true}) {
      // Both runners can pipeline, so both engines limit jump-forward alike; one does not.
      CpuModelRunner runner = CpuModelRunner.create(tinyModel, 16, 4096, 0.5, 4096)
          .pipelining(true);
      // A wide batch window: all eight share the first step in both runs (a smaller first
      // batch would jump forward, which tokenizes forced text its own way).
      try (LlmEngine engine = new LlmEngine(EngineConfig.builder(tiny)
          .batchWindow(java.time.Duration.ofMillis(500)).pipelineDecode(pipelined).build(),
          runner,
          io.redress.inference.model.Tokenizer.load(tiny), ChatTemplate.chatml())) {
        List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          // Seeded at temperature 1: the draws compare probabilities to the last bit, which
          // the CPU runner keeps from a cold JVM to a warm one (CpuModelRepeatabilityTest).
          SamplingParams p = SamplingParams.greedy(600).withJsonSchema(schema)
              .withTemperature(1.0).withSeed(11L + i);
          futures.add(engine.submit(GenerationRequest.ofText("g" + i, "Order " + i
              + " arrived broken", p)));
        }
        for (CompletableFuture<GenerationResult> f : futures) {
          GenerationResult r = f.join();
          if (pipelined) {
            ahead.add(r);
          } else {
            plain.add(r.tokenIds());
          }
        }
        if (pipelined) {
          assertThat(runner.fedSteps()).as("fed steps").isPositive();
          awaitIdle(engine);
        }
      }
    }
    com.fasterxml.jackson.databind.ObjectMapper json =
        new com.fasterxml.jackson.databind.ObjectMapper();
    for (int i = 0; i < n; i++) {
      GenerationResult r = ahead.get(i);
      assertThat(r.tokenIds()).as("request %d", i).isEqualTo(plain.get(i));
      assertThat(r.finishReason()).as("%s: %s", r.requestId(), r.message())
          .isEqualTo(FinishReason.STOP);
      assertThat(validator.validate(json.readTree(r.text()))).as(r.text()).isEmpty();
    }
  }

  /** The loop publishes stats after each step: wait for the last, then check nothing leaked. */
  private static void awaitIdle(LlmEngine engine) {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while ((engine.stats().running() > 0 || engine.stats().kvBlocksUsed() > 0)
        && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertThat(engine.stats().kvBlocksUsed()).as("blocks held after all finished").isZero();
    assertThat(engine.stats().running()).isZero();
  }
}
