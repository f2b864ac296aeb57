package io.redress.inference.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.model.ChatTemplate;
import io.redress.inference.runtime.cpu.CpuGenerator;
import io.redress.inference.runtime.cpu.CpuModel;
import io.redress.inference.runtime.cpu.CpuModelRunner;
import io.redress.inference.testing.Fixtures;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Seeded sampling is reproducible, alone or batched, and equals the plain path. */
class EngineSamplingTest {

  @Test
  void seededSamplingIsReproducibleAcrossBatchingAndPreemption() {
    CpuModel model = CpuModel.load(Fixtures.modelDir("qwen2-small-untied"));
    SamplingParams p = SamplingParams.greedy(16).withIgnoreEos(true).withTemperature(0.9)
        .withTopK(50).withTopP(0.95);
    int[] prompt = new java.util.Random(5).ints(30, 0, 2048).toArray();
    List<Integer> alone = new CpuGenerator(model).generate(prompt, p.withSeed(42L), id -> { })
        .tokenIds();
    EngineConfig config = EngineConfig.builder(Fixtures.modelDir("qwen2-small-untied"))
        .blockSize(4).build();
    // A small pool and 16 concurrent copies: batched, and preempted along the way.
    try (LlmEngine engine = new LlmEngine(config, CpuModelRunner.create(model, 4, 40, 0.5, 40),
        null, ChatTemplate.chatml())) {
      List<CompletableFuture<GenerationResult>> seeded = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        seeded.add(engine.submit(GenerationRequest.ofTokens("s" + i, prompt,
            p.withSeed(42L))));
      }
      GenerationResult other = engine.submit(GenerationRequest.ofTokens("o", prompt,
          p.withSeed(43L))).join();
      for (CompletableFuture<GenerationResult> f : seeded) {
        assertThat(f.join().tokenIds()).isEqualTo(alone);
      }
      assertThat(other.tokenIds()).isNotEqualTo(alone);
      assertThat(engine.stats().preemptions()).isPositive();
    }
  }
}
