package io.redress.inference.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.runtime.ModelRunner;
import io.redress.inference.runtime.SeqStep;
import io.redress.inference.runtime.Step;
import io.redress.inference.runtime.cuda.CudaDevice;
import io.redress.inference.runtime.cuda.CudaModelRunner;
import io.redress.inference.runtime.cuda.TensorParallelRunner;
import io.redress.inference.testing.Fixtures;
import io.redress.inference.testing.Gpu;
import io.redress.inference.testing.Logits;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The Engine core's equivalence tests on the GPU: batched, paged, chunked, prefix-cached and
 * preempted generation equals each sequence alone on the GPU, up to the first position where
 * the fp32 reference sees a near-tie (bf16 may legitimately flip those); and device memory
 * returns to its starting level after 1,000 requests and close.
 */
@Tag("gpu")
class EngineGpuTest {

  private static final int MAX_TOKENS = 12;
  private static Path dir;
  private static List<int[]> prompts;
  private static List<List<Integer>> alone;
  private static List<double[]> margins; // per request and position: top-2 margin / max |logit|

  @BeforeEach
  void gpu() {
    Gpu.assumeUsable();
  }

  @BeforeAll
  static void referenceAloneOnTheGpu() {
    if (!CudaDevice.probe(0).usable()) {
      return;
    }
    dir = Fixtures.modelDir("qwen2-small-untied");
    prompts = EngineEquivalenceTest.overlappingPrompts(new Random(11));
    alone = new ArrayList<>();
    margins = new ArrayList<>();
    // Each prompt alone, step by step on one GPU runner: its greedy tokens and, per position,
    // whether the top-2 margin is clear of bf16 noise between batch shapes (cuBLAS picks other
    // kernels for other batch sizes, so sums round differently).
    EngineConfig config = EngineConfig.builder(dir).build();
    try (CudaModelRunner gpu = (CudaModelRunner) runner(config, 512)) {
      int vocab = gpu.config().vocabSize();
      int[] table = IntStream.range(0, 16).toArray();
      SamplingParams greedy = SamplingParams.greedy(1);
      for (int[] prompt : prompts) {
        List<Integer> tokens = new ArrayList<>();
        double[] relMargins = new double[MAX_TOKENS];
        for (int j = 0; j < MAX_TOKENS; j++) {
          Step step = j == 0
              ? new Step(prompt, List.of(new SeqStep(prompt.length, 0, table, true, greedy, 0, 0)))
              : new Step(new int[] {tokens.get(j - 1)}, List.of(new SeqStep(1,
                  prompt.length + j - 1, table, true, greedy, 0, j)));
          float[] row = gpu.stepLogits(step);
          int argmax = 0;
          double maxAbs = 0;
          for (int v = 0; v < vocab; v++) {
            maxAbs = Math.max(maxAbs, Math.abs(row[v]));
            argmax = row[v] > row[argmax] ? v : argmax;
          }
          tokens.add(argmax);
          relMargins[j] = Logits.margin(row, 0, vocab) / maxAbs;
        }
        alone.add(tokens);
        margins.add(relMargins);
      }
    }
  }

  /** A top-2 margin under this share of max |logit| may flip between batch shapes. */
  private static final double NOISE = 0.02;

  private static ModelRunner runner(EngineConfig config, int numBlocks) {
    CudaModelRunner.Options options = LlmEngine.cudaOptions(config.toBuilder()
        .numBlocks(numBlocks).build(), 1024);
    return config.tensorParallelSize() > 1
        ? TensorParallelRunner.load(dir, options, config.tensorParallelSize())
        : CudaModelRunner.load(dir, options);
  }

  private EngineStats runAll(EngineConfig config, int numBlocks) {
    try (Engine engine = Engine.open(config, runner(config, numBlocks))) {
      List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
      for (int i = 0; i < prompts.size(); i++) {
        futures.add(engine.submit(GenerationRequest.ofTokens("r" + i, prompts.get(i),
            EngineEquivalenceTest.params())));
      }
      // Tokens must agree; they may part only where the alone run saw a near-tie (after
      // which the sequences differ and are not compared further).
      int agreed = 0;
      int parted = 0;
      for (int i = 0; i < prompts.size(); i++) {
        GenerationResult r = futures.get(i).join();
        assertThat(r.finishReason()).as(r.message()).isEqualTo(FinishReason.LENGTH);
        int j = 0;
        while (j < MAX_TOKENS && r.tokenIds().get(j).equals(alone.get(i).get(j))) {
          j++;
        }
        agreed += j;
        if (j < MAX_TOKENS) {
          parted++;
          assertThat(margins.get(i)[j]).as("request %d parts from the alone run at token %d"
              + " although its top-2 margin is clear", i, j).isLessThan(NOISE);
        }
      }
      System.out.printf("%d of %d tokens agree; %d requests parted at a near-tie%n", agreed,
          prompts.size() * MAX_TOKENS, parted);
      assertThat(agreed).as("tokens agreeing").isGreaterThan(prompts.size() * MAX_TOKENS / 2);
      return engine.stats();
    }
  }

  @Test
  void defaults() {
    runAll(EngineConfig.builder(dir).build(), 2048);
  }

  @Test
  void tinyBlocksAndPreemption() {
    EngineStats stats = runAll(EngineConfig.builder(dir).blockSize(4).build(), 40);
    assertThat(stats.preemptions()).isPositive();
  }

  /**
   * Tensor parallel over two GPUs (skipped with one): the same tokens as one GPU alone, batched,
   * chunked and preempted, through its decode graphs.
   */
  @Test
  void tensorParallelOverTwoGpus() {
    Gpu.assumeGpus(2);
    runAll(EngineConfig.builder(dir).tensorParallelSize(2).maxNumBatchedTokens(32).build(),
        2048);
    EngineStats stats = runAll(EngineConfig.builder(dir).tensorParallelSize(2).blockSize(4)
        .build(), 40);
    assertThat(stats.preemptions()).isPositive();
  }

  @Test
  void chunkedPrefillWith32Tokens() {
    runAll(EngineConfig.builder(dir).maxNumBatchedTokens(32).build(), 2048);
  }

  @Test
  void guidedRepliesValidateOnTheGpu() throws java.io.IOException {
    Path tiny = Fixtures.modelDir("qwen2-tiny-tied");
    String schema = java.nio.file.Files.readString(Fixtures.resource("guide/reply.schema.json"));
    var validator = com.networknt.schema.JsonSchemaFactory.getInstance(
        com.networknt.schema.SpecVersion.VersionFlag.V202012).getSchema(schema);
    EngineConfig config = EngineConfig.builder(tiny).build();
    CudaModelRunner gpu = CudaModelRunner.load(tiny, LlmEngine.cudaOptions(
        config.toBuilder().numBlocks(2048).build(), 512));
    try (Engine engine = Engine.open(config, gpu,
        io.redress.inference.model.Tokenizer.load(tiny))) {
      List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        futures.add(engine.submit(GenerationRequest.ofText("g" + i, "Complaint " + i + ":",
            SamplingParams.greedy(1500).withTemperature(1.0).withTopP(0.95)
                .withSeed((long) i).withJsonSchema(schema))));
      }
      var json = new com.fasterxml.jackson.databind.ObjectMapper();
      for (CompletableFuture<GenerationResult> f : futures) {
        GenerationResult r = f.join();
        assertThat(r.finishReason()).as(r.message()).isEqualTo(FinishReason.STOP);
        assertThat(validator.validate(json.readTree(r.text()))).as(r.text()).isEmpty();
      }
      assertThat(engine.stats().jumpForwardTokens()).isPositive();
    }
  }

  @Test
  void thousandRequestsThenCloseReturnsDeviceMemory() {
    try (CudaDevice probe = CudaDevice.open(0)) {
      EngineConfig config = EngineConfig.builder(dir).build();
      // A first engine initialises the per-context state of the CUDA and cuBLAS libraries
      // (kept while the context lives); the level after it is the baseline.
      try (Engine warm = Engine.open(config, runner(config, 64))) {
        warm.submit(GenerationRequest.ofTokens("w", new int[] {1, 2, 3},
            SamplingParams.greedy(2))).join();
      }
      probe.makeCurrent();
      long before = probe.memInfo()[0];
      try (Engine engine = Engine.open(config, runner(config, 0))) {
        List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
        Random r = new Random(9);
        for (int i = 0; i < 1000; i++) {
          futures.add(engine.submit(GenerationRequest.ofTokens("m" + i,
              r.ints(8 + r.nextInt(64), 0, 2048).toArray(),
              SamplingParams.greedy(4).withIgnoreEos(true))));
        }
        futures.forEach(f -> assertThat(f.join().completionTokens()).isEqualTo(4));
      }
      probe.makeCurrent();
      long after = probe.memInfo()[0];
      System.out.printf("device free memory before %d MiB, after close %d MiB%n",
          before >> 20, after >> 20);
      assertThat(Math.abs(after - before)).as("device bytes not returned")
          .isLessThanOrEqualTo(2L << 20);
    }
  }
}
