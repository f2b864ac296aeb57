package io.redress.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.redress.inference.engine.GenerationRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The decode CLI's runs over a fake engine: what it submits, in which order, and reports. */
class DecodeBenchTest {

  @TempDir Path tmp;
  Path model;
  ThroughputBenchTest.FakeEngine engine;

  @BeforeEach
  void writeModelConfig() throws Exception {
    model = ThroughputBenchTest.tinyModelConfig(tmp);
  }

  private JsonNode run(String... extra) throws Exception {
    List<String> args = new ArrayList<>(List.of("--model", model.toString(), "--batch", "1,4",
        "--prompt-len", "16", "--output-len", "32", "--out", tmp.resolve("out").toString(),
        "--name", "d"));
    args.addAll(List.of(extra));
    DecodeBench b = new DecodeBench();
    new CommandLine(b).parseArgs(args.toArray(String[]::new));
    b.engineFactory = c -> engine = new ThroughputBenchTest.FakeEngine(c);
    assertThat(b.call()).isZero();
    return new ObjectMapper().readTree(tmp.resolve("out").resolve("d.json").toFile());
  }

  /** Requests' new-token caps in submission order, one entry per run: {requests, cap}. */
  private List<int[]> runsSubmitted() {
    List<int[]> out = new ArrayList<>();
    for (GenerationRequest r : engine.requests) {
      int cap = r.params().maxTokens();
      int[] last = out.isEmpty() ? null : out.get(out.size() - 1);
      // a run's requests are numbered 0 .. batch - 1
      if (last != null && last[1] == cap && !r.requestId().endsWith("-0")) {
        last[0]++;
      } else {
        out.add(new int[] {1, cap});
      }
    }
    return out;
  }

  @Test
  void eachBatchIsTimedAfterAnUntimedRunOfItsShapeOnOtherPrompts() throws Exception {
    JsonNode report = run();
    // the engine's warm-up (batch 1, 32 tokens), then per batch: warm-up (8), timed (32)
    assertThat(runsSubmitted()).containsExactly(new int[] {1, 32}, new int[] {1, 8},
        new int[] {1, 32}, new int[] {4, 8}, new int[] {4, 32});
    List<int[]> prompts = engine.submitted;
    for (int w = 3; w < 7; w++) { // batch 4's warm-up prompts against its timed ones
      for (int t = 7; t < 11; t++) {
        assertThat(Arrays.equals(prompts.get(w), prompts.get(t))).isFalse();
      }
      assertThat(prompts.get(w)).hasSize(16);
    }
    assertThat(report.get("warm_up_tokens").asInt()).isEqualTo(8);
    assertThat(report.get("runs")).hasSize(2);
    assertThat(Files.readString(tmp.resolve("out").resolve("d.md")))
        .contains("each batch after an untimed warm-up run of 8 tokens");
  }

  @Test
  void noWarmUpRunWhenAskedForNone() throws Exception {
    JsonNode report = run("--warm-up-tokens", "0");
    assertThat(runsSubmitted()).containsExactly(new int[] {1, 32}, new int[] {1, 32},
        new int[] {4, 32});
    assertThat(report.get("warm_up_tokens").asInt()).isZero();
    assertThat(Files.readString(tmp.resolve("out").resolve("d.md"))).doesNotContain("warm-up");
  }
}
