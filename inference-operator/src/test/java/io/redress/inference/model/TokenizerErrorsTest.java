package io.redress.inference.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a user sees when the tokenizer file is missing or wrong: one message, file and fix. */
class TokenizerErrorsTest {

  /** A tiny valid HF tokenizer that is not byte-level BPE. */
  private static final String WORD_LEVEL =
      "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":"
          + "[{\"id\":3,\"content\":\"[SEP]\",\"single_word\":false,\"lstrip\":false,"
          + "\"rstrip\":false,\"normalized\":false,\"special\":true}],"
          + "\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"Whitespace\"},"
          + "\"post_processor\":null,\"decoder\":null,"
          + "\"model\":{\"type\":\"WordLevel\",\"vocab\":{\"[UNK]\":0,\"hello\":1,\"world\":2},"
          + "\"unk_token\":\"[UNK]\"}}";

  @Test
  void directoryWithoutTokenizerFile(@TempDir Path dir) {
    assertThatThrownBy(() -> Tokenizer.load(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining(dir.toString())
        .hasMessageContaining("tokenizer.json");
  }

  @Test
  void missingFile(@TempDir Path dir) {
    Path file = dir.resolve("nope/tokenizer.json");
    assertThatThrownBy(() -> Tokenizer.load(file))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("does not exist");
  }

  @Test
  void invalidJson(@TempDir Path dir) throws IOException {
    Path file = Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"vocab\": {\"a\": 1,");
    assertThatThrownBy(() -> Tokenizer.load(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("not valid JSON")
        .hasMessageContaining("line 1");
  }

  @Test
  void jsonThatIsNotATokenizer(@TempDir Path dir) throws IOException {
    Path file = Files.writeString(dir.resolve("tokenizer.json"), "{\"architectures\": []}");
    assertThatThrownBy(() -> Tokenizer.load(file))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("not an HF tokenizers file");
  }

  @Test
  void tokenizerThatHfCannotBuild(@TempDir Path dir) throws IOException {
    Path file =
        Files.writeString(
            dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"Bogus\", \"vocab\": {}}}");
    assertThatThrownBy(() -> Tokenizer.load(file))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("HF tokenizers cannot build a tokenizer")
        .hasMessageContaining("ModelUntagged"); // HF's own reason is kept
  }

  @Test
  void truncatedGzip(@TempDir Path dir) throws IOException {
    byte[] gz = Files.readAllBytes(TokenizerTest.qwenTokenizerDir().resolve("tokenizer.json.gz"));
    Path file = dir.resolve("tokenizer.json.gz");
    Files.write(file, Arrays.copyOf(gz, 1_000));
    assertThatThrownBy(() -> Tokenizer.load(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("download it again");
  }

  @Test
  void tokenBytesNeedAByteLevelTokenizer(@TempDir Path dir) throws IOException {
    Path file = Files.writeString(dir.resolve("tokenizer.json"), WORD_LEVEL, StandardCharsets.UTF_8);
    try (Tokenizer tokenizer = Tokenizer.load(dir)) {
      // Encoding, decoding and the table still work for any HF tokenizer.
      assertThat(tokenizer.encode("hello world [SEP]")).containsExactly(1, 2, 3);
      assertThat(tokenizer.vocabSize()).isEqualTo(4);
      assertThat(tokenizer.isSpecial(3)).isTrue();
      assertThat(tokenizer.tokenId("world")).hasValue(2);
      assertThatThrownBy(() -> tokenizer.tokenBytes(1))
          .isInstanceOf(ModelLoadException.class)
          .hasMessageContaining(file.toString())
          .hasMessageContaining("WordLevel")
          .hasMessageContaining("byte-level BPE");
    }
  }
}
