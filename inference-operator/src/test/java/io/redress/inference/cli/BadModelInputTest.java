package io.redress.inference.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.testing.Fixtures;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each way a model directory can be broken gives exactly one error line that names the file
 * (and tensor) and the fix, exit status 1, and no stack trace.
 */
class BadModelInputTest {

  @TempDir Path tmp;
  private Path dir;

  @BeforeEach
  void copyFixture() throws IOException {
    dir = FixtureCopies.copy(Fixtures.modelDir("qwen2-small-untied"), tmp.resolve("model"));
  }

  private CliRun generate() {
    return CliRun.of("", "generate", "--model", dir.toString(), "--prompt", "hello",
        "--max-tokens", "2");
  }

  private static void assertOneClearError(CliRun run, String... mustContain) {
    assertThat(run.status()).as(run.err()).isEqualTo(1);
    assertThat(run.errorLines()).as(run.err()).isEqualTo(1);
    assertThat(run.err()).doesNotContain("\tat ");
    String error = run.err().lines().filter(l -> l.startsWith("error:")).findFirst().orElseThrow();
    for (String s : mustContain) {
      assertThat(error).contains(s);
    }
    assertThat(run.out()).isEmpty();
  }

  @Test
  void missingConfig() throws IOException {
    Files.delete(dir.resolve("config.json"));
    assertOneClearError(generate(), dir.resolve("config.json").toString(), "not found");
  }

  @Test
  void missingShard() throws IOException {
    Files.move(dir.resolve("model.safetensors"), dir.resolve("model-00001-of-00002.safetensors"));
    Files.writeString(dir.resolve("model.safetensors.index.json"), """
        {"weight_map": {"model.embed_tokens.weight": "model-00001-of-00002.safetensors",
                        "lm_head.weight": "model-00002-of-00002.safetensors"}}
        """);
    assertOneClearError(generate(), "model-00002-of-00002.safetensors", "missing",
        "download");
  }

  @Test
  void truncatedWeights() throws IOException {
    Path file = dir.resolve("model.safetensors");
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.truncate(ch.size() - 1000);
    }
    assertOneClearError(generate(), file.toString(), "truncated", "download it again");
  }

  @Test
  void unsupportedArchitecture() throws IOException {
    Path config = dir.resolve("config.json");
    Files.writeString(config, Files.readString(config)
        .replace("Qwen2ForCausalLM", "LlamaForCausalLM").replace("\"qwen2\"", "\"llama\""));
    assertOneClearError(generate(), config.toString(), "LlamaForCausalLM", "Qwen2ForCausalLM");
  }

  @Test
  void tensorShapeMismatch() throws IOException {
    Path config = dir.resolve("config.json");
    Files.writeString(config, Files.readString(config)
        .replace("\"intermediate_size\": 512", "\"intermediate_size\": 640"));
    assertOneClearError(generate(), "mlp.gate_proj.weight", "model.safetensors", "[512, 256]",
        "[640, 256]", "config.json");
  }

  @Test
  void unreadableTokenizer() throws IOException {
    Path tokenizer = dir.resolve("tokenizer.json.gz");
    Files.write(tokenizer, new byte[] {0x1f, (byte) 0x8b, 1, 2, 3});
    assertOneClearError(generate(), tokenizer.getFileName().toString());
  }

  @Test
  void missingTokenizer() throws IOException {
    Files.delete(dir.resolve("tokenizer.json.gz"));
    assertOneClearError(generate(), "tokenizer.json");
  }
}
