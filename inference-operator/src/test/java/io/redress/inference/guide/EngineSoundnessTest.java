package io.redress.inference.guide;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.engine.Engine;
import io.redress.inference.engine.EngineConfig;
import io.redress.inference.engine.FinishReason;
import io.redress.inference.engine.GenerationRequest;
import io.redress.inference.engine.GenerationResult;
import io.redress.inference.engine.SamplingParams;
import io.redress.inference.testing.Fixtures;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Soundness through the whole engine: every schema of the corpus (215 with the merged ones), one request each,
 * sampled at temperature 1.0 from a random-weight model on Qwen's real vocabulary. Every
 * finished output parses and validates (networknt); outputs cut by maxTokens say
 * {@code length}; nothing ends in error.
 */
class EngineSoundnessTest {

  @Test
  void finishedOutputsOfEverySchemaValidate() {
    List<SchemaCorpus.Entry> corpus = SchemaCorpus.withMerged();
    int finished = 0;
    try (Engine engine = Engine.open(EngineConfig.builder(Fixtures.modelDir("qwen2-tiny-tied"))
        .device(EngineConfig.Device.CPU).numBlocks(8192).build())) {
      List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
      for (int i = 0; i < corpus.size(); i++) {
        futures.add(engine.submit(GenerationRequest.ofText("s" + i, "JSON:",
            SamplingParams.greedy(96).withTemperature(1.0).withSeed((long) i)
                .withJsonSchema(corpus.get(i).schema()))));
      }
      for (int i = 0; i < corpus.size(); i++) {
        GenerationResult r = futures.get(i).join();
        assertThat(r.finishReason()).as("%s: %s", corpus.get(i), r.message())
            .isIn(FinishReason.STOP, FinishReason.LENGTH);
        if (r.finishReason() == FinishReason.STOP) {
          finished++;
          assertThat(new NetworkntValidator(corpus.get(i).schema())
              .errors(r.text().getBytes(StandardCharsets.UTF_8)))
              .as("%s: %s", corpus.get(i), r.text()).isEmpty();
        } else {
          assertThat(r.completionTokens()).isEqualTo(96);
        }
      }
    }
    System.out.printf("engine soundness: %d schemas, %d outputs finished, all valid%n",
        corpus.size(), finished);
    assertThat(finished).as("finished outputs").isGreaterThan(corpus.size() / 4);
  }
}
