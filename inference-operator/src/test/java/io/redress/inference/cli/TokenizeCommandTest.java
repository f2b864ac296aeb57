package io.redress.inference.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.redress.inference.testing.Fixtures;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/** {@code redress tokenize} reproduces HF tokenizers' ids line for line, and decodes back. */
class TokenizeCommandTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void encodesTheCorpusAsHfDoesAndDecodesBack() throws IOException {
    List<JsonNode> reference = new ArrayList<>();
    try (InputStream in = new GZIPInputStream(Files.newInputStream(
        Fixtures.resource("tokenizer/reference.jsonl.gz")))) {
      for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
        if (!line.isBlank()) {
          reference.add(JSON.readTree(line));
        }
      }
    }
    StringBuilder stdin = new StringBuilder();
    for (JsonNode r : reference) {
      stdin.append(JSON.writeValueAsString(r.get("text").asText())).append('\n');
    }
    String tokenizer = Fixtures.resource("qwen-tokenizer/tokenizer.json.gz").getParent()
        .toString();
    CliRun encoded = CliRun.of(stdin.toString(), "tokenize", "--tokenizer", tokenizer);
    assertThat(encoded.status()).as(encoded.err()).isZero();
    List<String> lines = encoded.out().lines().toList();
    assertThat(lines).hasSize(reference.size());
    for (int i = 0; i < lines.size(); i++) {
      assertThat(JSON.readTree(lines.get(i))).as("line %d: %s", i + 1,
          reference.get(i).get("text").asText()).isEqualTo(reference.get(i).get("ids"));
    }
    CliRun decoded = CliRun.of(encoded.out(), "tokenize", "--tokenizer", tokenizer, "--decode");
    List<String> texts = decoded.out().lines().toList();
    for (int i = 0; i < texts.size(); i++) {
      assertThat(JSON.readTree(texts.get(i)).asText()).as("line %d", i + 1)
          .isEqualTo(reference.get(i).get("decoded").asText());
    }
  }

  @Test
  void badLinesAreNamed() {
    String tokenizer = Fixtures.resource("qwen-tokenizer/tokenizer.json.gz").getParent()
        .toString();
    CliRun run = CliRun.of("\"ok\"\n[1, 2]\n", "tokenize", "--tokenizer", tokenizer);
    assertThat(run.status()).isEqualTo(1);
    assertThat(run.err()).contains("stdin line 2 is not a JSON string");
    CliRun decode = CliRun.of("[1, 99999999]\n", "tokenize", "--tokenizer", tokenizer,
        "--decode");
    assertThat(decode.err()).contains("stdin line 1", "99999999");
  }
}
