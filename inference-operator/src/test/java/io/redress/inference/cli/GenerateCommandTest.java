package io.redress.inference.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.redress.inference.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/** {@code redress generate} reproduces HF's greedy continuations, in the documented format. */
class GenerateCommandTest {

  static final List<String> MODELS = Fixtures.MODELS;
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @ParameterizedTest
  @FieldSource("MODELS")
  void batchFileReproducesHfGreedyInInputOrder(String model) throws IOException {
    List<Fixtures.Case> cases = Fixtures.reference(model);
    StringBuilder batch = new StringBuilder();
    for (Fixtures.Case c : cases) {
      batch.append(JSON.writeValueAsString(c.prompt())).append('\n');
    }
    Path file = tmp.resolve("prompts.jsonl");
    Files.writeString(file, batch);
    CliRun run = CliRun.of("", "generate", "--model", Fixtures.modelDir(model).toString(),
        "--batch-file", file.toString(), "--max-tokens", "32", "--ignore-eos", "--jsonl");
    assertThat(run.status()).as(run.err()).isZero();
    List<String> lines = run.out().lines().toList();
    assertThat(lines).hasSize(cases.size());
    for (int i = 0; i < cases.size(); i++) {
      JsonNode line = JSON.readTree(lines.get(i));
      assertThat(fieldNames(line)).containsExactly("text", "token_ids", "finish_reason",
          "prompt_tokens", "cached_tokens", "completion_tokens");
      int[] ids = JSON.treeToValue(line.get("token_ids"), int[].class);
      assertThat(ids).as(cases.get(i).prompt()).containsExactly(cases.get(i).greedy());
      assertThat(line.get("finish_reason").asText()).isEqualTo("length");
      assertThat(line.get("prompt_tokens").asInt()).isEqualTo(cases.get(i).promptIds().length);
      assertThat(line.get("completion_tokens").asInt()).isEqualTo(32);
      assertThat(line.get("cached_tokens").asInt()).isZero();
    }
  }

  @Test
  void promptFileAndPlainOutput() throws IOException {
    Fixtures.Case c = Fixtures.reference("qwen2-small-untied").get(0);
    Path file = tmp.resolve("prompt.txt");
    Files.writeString(file, c.prompt());
    CliRun run = CliRun.of("", "generate", "--model",
        Fixtures.modelDir("qwen2-small-untied").toString(), "--prompt-file", file.toString(),
        "--max-tokens", "32", "--ignore-eos");
    assertThat(run.status()).as(run.err()).isZero();
    CliRun decoded = CliRun.of(JSON.writeValueAsString(c.greedy()) + "\n", "tokenize",
        "--tokenizer", Fixtures.modelDir("qwen2-small-untied").toString(), "--decode");
    assertThat(run.out()).isEqualTo(JSON.readTree(decoded.out()).asText() + "\n");
  }

  @Test
  void stopsAtEosUnlessIgnored() throws IOException {
    // The tiny model's greedy continuation of this prompt, with a later token declared EOS:
    // the first token from the 3rd on that did not occur before it.
    String model = "qwen2-tiny-tied";
    Fixtures.Case c = Fixtures.reference(model).get(0);
    int k = 2;
    while (firstIndex(c.greedy(), c.greedy()[k]) < k) {
      k++;
    }
    Path dir = FixtureCopies.copy(Fixtures.modelDir(model), tmp.resolve("m"));
    String config = Files.readString(dir.resolve("config.json"));
    Files.writeString(dir.resolve("config.json"), config.replace("\"eos_token_id\": 151645",
        "\"eos_token_id\": " + c.greedy()[k]));
    CliRun run = CliRun.of("", "generate", "--model", dir.toString(), "--prompt", c.prompt(),
        "--max-tokens", "32", "--jsonl");
    JsonNode line = JSON.readTree(run.out());
    assertThat(line.get("finish_reason").asText()).isEqualTo("stop");
    assertThat(JSON.treeToValue(line.get("token_ids"), int[].class))
        .containsExactly(java.util.Arrays.copyOf(c.greedy(), k + 1));
    CliRun ignoring = CliRun.of("", "generate", "--model", dir.toString(), "--prompt",
        c.prompt(), "--max-tokens", "32", "--jsonl", "--ignore-eos");
    assertThat(JSON.readTree(ignoring.out()).get("completion_tokens").asInt()).isEqualTo(32);
  }

  @Test
  void usageErrorsAreOneLine() throws IOException {
    CliRun none = CliRun.of("", "generate", "--model", "x");
    assertThat(none.status()).isEqualTo(2);
    Path bad = tmp.resolve("bad.jsonl");
    Files.writeString(bad, "\"ok\"\n{\"not\": \"a string\"}\n");
    CliRun run = CliRun.of("", "generate", "--model",
        Fixtures.modelDir("qwen2-small-untied").toString(), "--batch-file", bad.toString());
    assertThat(run.status()).isEqualTo(1);
    assertThat(run.err()).contains("error: " + bad + " line 2 is not a JSON string");
    CliRun seqs = CliRun.of("", "generate", "--model",
        Fixtures.modelDir("qwen2-small-untied").toString(), "--prompt", "hi", "--max-num-seqs",
        "0");
    assertThat(seqs.status()).isEqualTo(1);
    assertThat(seqs.err()).contains("error: --max-num-seqs must be positive, got 0");
  }

  private static int firstIndex(int[] values, int value) {
    for (int i = 0; i < values.length; i++) {
      if (values[i] == value) {
        return i;
      }
    }
    return -1;
  }

  private static List<String> fieldNames(JsonNode node) {
    List<String> names = new java.util.ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }
}
