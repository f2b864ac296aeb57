package io.redress.inference.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.runtime.cpu.CpuGenerator;
import io.redress.inference.runtime.cpu.CpuModel;
import io.redress.inference.runtime.cuda.CudaDevice;
import io.redress.inference.runtime.cuda.CudaModelRunner;
import io.redress.inference.testing.Fixtures;
import io.redress.inference.testing.Gpu;
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
  private static List<Integer> comparable; // per request: tokens before the first near-tie

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
    EngineConfig config = EngineConfig.builder(dir).enablePrefixCaching(false).build();
    try (Engine engine = Engine.open(config, runner(config, 512))) {
      for (int i = 0; i < prompts.size(); i++) {
        alone.add(engine.submit(GenerationRequest.ofTokens("a" + i, prompts.get(i),
            EngineEquivalenceTest.params())).join().tokenIds());
      }
    }
    CpuModel cpu = CpuModel.load(dir);
    comparable = new ArrayList<>();
    int vocab = cpu.config().vocabSize();
    for (int i = 0; i < prompts.size(); i++) {
      int[] all = IntStream.concat(IntStream.of(prompts.get(i)),
          alone.get(i).stream().mapToInt(Integer::intValue)).toArray();
      float[] ref = new CpuGenerator(cpu).logitsOfAllPositions(all);
      int n = 0;
      for (int j = 0; j < MAX_TOKENS; j++) {
        int pos = prompts.get(i).length - 1 + j;
        double maxAbs = 0;
        for (int v = 0; v < vocab; v++) {
          maxAbs = Math.max(maxAbs, Math.abs(ref[pos * vocab + v]));
        }
        if (io.redress.inference.testing.Logits.margin(ref, pos * vocab,
            vocab) < 0.06 * maxAbs) {
          break;
        }
        n++;
      }
      comparable.add(n);
    }
  }

  private static CudaModelRunner runner(EngineConfig config, int numBlocks) {
    return CudaModelRunner.load(dir, LlmEngine.cudaOptions(config.toBuilder()
        .numBlocks(numBlocks).build(), 1024));
  }

  private EngineStats runAll(EngineConfig config, int numBlocks) {
    try (Engine engine = Engine.open(config, runner(config, numBlocks))) {
      List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
      for (int i = 0; i < prompts.size(); i++) {
        futures.add(engine.submit(GenerationRequest.ofTokens("r" + i, prompts.get(i),
            EngineEquivalenceTest.params())));
      }
      int fullyCompared = 0;
      for (int i = 0; i < prompts.size(); i++) {
        GenerationResult r = futures.get(i).join();
        assertThat(r.finishReason()).as(r.message()).isEqualTo(FinishReason.LENGTH);
        int n = comparable.get(i);
        assertThat(r.tokenIds().subList(0, n)).as("request %d", i)
            .isEqualTo(alone.get(i).subList(0, n));
        fullyCompared += n == MAX_TOKENS ? 1 : 0;
      }
      assertThat(fullyCompared).as("requests compared over all tokens").isGreaterThan(32);
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

  @Test
  void chunkedPrefillWith32Tokens() {
    runAll(EngineConfig.builder(dir).maxNumBatchedTokens(32).build(), 2048);
  }

  @Test
  void thousandRequestsThenCloseReturnsDeviceMemory() {
    try (CudaDevice probe = CudaDevice.open(0)) {
      long before = probe.memInfo()[0];
      EngineConfig config = EngineConfig.builder(dir).build();
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
