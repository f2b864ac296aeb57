package io.redress.inference.engine;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import io.redress.inference.model.ChatMessage;
import io.redress.inference.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Guided JSON through the whole engine on a random-weight model with Qwen's real vocabulary:
 * every finished output parses and validates (networknt, an independent validator), under
 * random sampling, batched, with jump-forward.
 */
class EngineGuidedTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static Engine engine;
  private static String replySchema;
  private static JsonSchema validator;

  @BeforeAll
  static void open() throws IOException {
    replySchema = Files.readString(Fixtures.resource("guide/reply.schema.json"));
    validator = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
        .getSchema(replySchema);
    engine = Engine.open(EngineConfig.builder(Fixtures.modelDir("qwen2-tiny-tied"))
        .device(EngineConfig.Device.CPU).numBlocks(4096).build());
  }

  @AfterAll
  static void close() {
    engine.close();
  }

  @Test
  void everyFinishedReplyValidatesUnderRandomSampling() throws IOException {
    List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      SamplingParams p = SamplingParams.greedy(1500).withTemperature(1.0).withSeed((long) i)
          .withJsonSchema(replySchema);
      futures.add(engine.submit(GenerationRequest.ofChat("r" + i,
          List.of(new ChatMessage("user", "My parcel #" + i + " never arrived.")), p)));
    }
    for (CompletableFuture<GenerationResult> f : futures) {
      GenerationResult r = f.join();
      assertThat(r.finishReason()).as("%s: %s", r.requestId(), r.message())
          .isEqualTo(FinishReason.STOP);
      JsonNode reply = JSON.readTree(r.text());
      assertThat(validator.validate(reply)).as(r.text()).isEmpty();
      // Properties in schema order, compact.
      assertThat(r.text()).startsWith("{\"category\":\"");
    }
    assertThat(engine.stats().jumpForwardTokens()).as("forced tokens appended").isPositive();
    assertThat(engine.stats().guidedMaskNanos()).isPositive();
  }

  @Test
  void outputsCutByMaxTokensReportLength() {
    GenerationResult r = engine.submit(GenerationRequest.ofText("short", "Complaint:",
        SamplingParams.greedy(5).withJsonSchema(replySchema))).join();
    assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
    assertThat(r.completionTokens()).isEqualTo(5);
  }

  @Test
  void badSchemasFailAtSubmitWithTheKeyword() {
    GenerationResult r = engine.submit(GenerationRequest.ofText("bad", "x",
        SamplingParams.greedy(5).withJsonSchema("{\"type\": \"object\", \"propertyNames\":"
            + " {\"maxLength\": 3}}"))).join();
    assertThat(r.finishReason()).isEqualTo(FinishReason.ERROR);
    assertThat(r.message()).contains("propertyNames");
  }

  @Test
  void aBatchOfGuidedRepliesMatchesEachRunAlone() {
    // Ten at once share steps and their masks (one array for the step); alone, a step has one.
    SamplingParams p = SamplingParams.greedy(400).withJsonSchema(replySchema);
    List<CompletableFuture<GenerationResult>> batch = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      batch.add(engine.submit(GenerationRequest.ofText("batch" + i, "Order " + i
          + " arrived broken", p)));
    }
    for (int i = 0; i < 10; i++) {
      GenerationResult together = batch.get(i).join();
      GenerationResult alone = engine.submit(GenerationRequest.ofText("alone" + i, "Order " + i
          + " arrived broken", p)).join();
      assertThat(together.tokenIds()).as("request %d", i).isEqualTo(alone.tokenIds());
      assertThat(together.finishReason()).isEqualTo(alone.finishReason());
    }
  }

  @Test
  void greedyGuidedIsDeterministicAndStreamsForcedTokens() {
    SamplingParams p = SamplingParams.greedy(1500).withJsonSchema(replySchema);
    List<Integer> streamed = new ArrayList<>();
    GenerationResult a = engine.submit(GenerationRequest.ofText("g1", "Refund please", p)
        .withListener((id, token, index) -> streamed.add(token))).join();
    GenerationResult b = engine.submit(GenerationRequest.ofText("g2", "Refund please", p))
        .join();
    assertThat(a.tokenIds()).isEqualTo(b.tokenIds());
    assertThat(streamed).isEqualTo(a.tokenIds());
    assertThat(a.finishReason()).isEqualTo(FinishReason.STOP);
  }
}
