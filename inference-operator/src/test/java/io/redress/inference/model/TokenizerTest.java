package io.redress.inference.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.stream.IntStream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Qwen tokenizer through DJL: loading, special tokens, long inputs, token bytes. */
class TokenizerTest {

  static final int ENDOFTEXT = 151643;
  static final int IM_START = 151644;
  static final int IM_END = 151645;

  private static Tokenizer tokenizer;

  @BeforeAll
  static void load() {
    tokenizer = Tokenizer.load(qwenTokenizerDir());
  }

  @AfterAll
  static void close() {
    tokenizer.close();
  }

  /** The test copy of the Qwen tokenizer (tokenizer.json.gz + tokenizer_config.json). */
  static Path qwenTokenizerDir() {
    return resource("/qwen-tokenizer");
  }

  static Path resource(String name) {
    URL url = TokenizerTest.class.getResource(name);
    if (url == null) {
      throw new IllegalStateException("test resource " + name + " is missing");
    }
    try {
      return Paths.get(url.toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** corpus.jsonl: one JSON string per line (tools/make_tokenizer_corpus.py). */
  static List<String> corpus() {
    ObjectMapper json = new ObjectMapper();
    List<String> out = new ArrayList<>();
    try (BufferedReader in = Files.newBufferedReader(resource("/tokenizer/corpus.jsonl"))) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        out.add(json.readValue(line, String.class));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  static byte[] concatTokenBytes(Tokenizer tok, int[] ids) {
    var out = new java.io.ByteArrayOutputStream();
    for (int id : ids) {
      out.writeBytes(tok.tokenBytes(id));
    }
    return out.toByteArray();
  }

  @Test
  void vocabularyCoversRegularAndAddedTokens() {
    // 151,643 BPE tokens + 26 added tokens (Qwen3's file; Qwen2.5 stops at 151664).
    assertThat(tokenizer.vocabSize()).isEqualTo(151_669);
    assertThat(tokenizer.tokenId("<|endoftext|>")).hasValue(ENDOFTEXT);
    assertThat(tokenizer.tokenId("<|im_start|>")).hasValue(IM_START);
    assertThat(tokenizer.tokenId("<|im_end|>")).hasValue(IM_END);
    assertThat(tokenizer.tokenId("Ġhello")).isPresent();
    assertThat(tokenizer.tokenId("no such token at all")).isEmpty();
    assertThat(tokenizer.isSpecial(IM_END)).isTrue();
    assertThat(tokenizer.isSpecial(tokenizer.tokenId("<think>").getAsInt())).isFalse(); // added, not special
    assertThat(tokenizer.isSpecial(0)).isFalse();
  }

  @Test
  void specialTokensWrittenInTextBecomeSingleIds() {
    assertThat(tokenizer.encode("<|endoftext|>")).containsExactly(ENDOFTEXT);
    assertThat(tokenizer.encode("<|im_start|>")).containsExactly(IM_START);
    assertThat(tokenizer.encode("<|im_end|>")).containsExactly(IM_END);

    int[] ids = tokenizer.encode("<|im_start|>user\n我要退款<|im_end|>\n<|im_start|>assistant\n");
    assertThat(ids[0]).isEqualTo(IM_START);
    assertThat(Arrays.stream(ids).filter(id -> id == IM_START).count()).isEqualTo(2);
    assertThat(Arrays.stream(ids).filter(id -> id == IM_END).count()).isEqualTo(1);

    int[] embedded = tokenizer.encode("Hello <|endoftext|> world");
    assertThat(embedded).contains(ENDOFTEXT);
    assertThat(tokenizer.decode(embedded)).isEqualTo("Hello <|endoftext|> world");
  }

  @Test
  void textThatOnlyLooksSpecialStaysText() {
    assertThat(tokenizer.encode("<|IM_END|> < |im_end| > <|im_end")).doesNotContain(IM_END);
  }

  @Test
  void encodesLongInputsWhole() {
    StringBuilder text = new StringBuilder();
    for (int i = 0; text.length() < 24_000; i++) {
      text.append("第").append(i).append("次投诉：洗衣机又坏了，要求退款！ The refund never came. ");
    }
    int[] ids = tokenizer.encode(text.toString());
    assertThat(ids.length).isGreaterThan(5_000); // DJL's default would stop at 512
    assertThat(tokenizer.decode(ids)).isEqualTo(text.toString());
  }

  @Test
  void emptyTextHasNoTokens() {
    assertThat(tokenizer.encode("")).isEmpty();
    assertThat(tokenizer.decode(new int[0])).isEmpty();
  }

  @Test
  void everyIdHasBytesAndSingleBytesCoverAllByteValues() {
    BitSet singleBytes = new BitSet(256);
    for (int id = 0; id < tokenizer.vocabSize(); id++) {
      byte[] bytes = tokenizer.tokenBytes(id);
      assertThat(bytes).as("bytes of token %d", id).isNotNull().isNotEmpty();
      if (bytes.length == 1 && !tokenizer.isSpecial(id)) {
        singleBytes.set(bytes[0] & 0xFF);
      }
    }
    assertThat(singleBytes.cardinality()).isEqualTo(256);
  }

  @Test
  void tokenBytesReverseTheByteLevelMapping() {
    assertThat(bytesOf("Ġhello")).isEqualTo(" hello".getBytes(StandardCharsets.UTF_8));
    assertThat(bytesOf("Ċ")).isEqualTo(new byte[] {'\n'});
    assertThat(bytesOf("ĉ")).isEqualTo(new byte[] {'\t'});
    assertThat(bytesOf("<|im_end|>")).isEqualTo("<|im_end|>".getBytes(StandardCharsets.UTF_8));
    // "ä½ł" is 你 (E4 BD A0) in byte-level spelling.
    assertThat(bytesOf("ä½ł")).isEqualTo("你".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void tokenBytesConcatenateToTheDecodedText() {
    String text = "我的订单 ORD-20240512 还没到😡🇨🇳\r\n\tplease <|im_end|> café";
    int[] ids = tokenizer.encode(text);
    assertThat(concatTokenBytes(tokenizer, ids))
        .isEqualTo(tokenizer.decode(ids).getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void tokenBytesAreACopy() {
    byte[] first = tokenizer.tokenBytes(IM_END);
    first[0] = 'X';
    assertThat(tokenizer.tokenBytes(IM_END)[0]).isEqualTo((byte) '<');
  }

  @Test
  void idsOutsideTheVocabularyAreRejected() {
    assertThatThrownBy(() -> tokenizer.tokenBytes(tokenizer.vocabSize()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> tokenizer.isSpecial(-1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> tokenizer.decode(new int[] {1, -5}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("-5");
  }

  @Test
  void paddingIdsDecodeToNothingAsInHf() {
    // Qwen's embedding has rows up to 151,935; ids past the tokenizer's have no text.
    int[] ids = tokenizer.encode("refund please");
    int[] padded = {ids[0], 151_900, ids[1]};
    assertThat(tokenizer.decode(padded)).isEqualTo("refund please");
  }

  @Test
  void plainGzippedDirectoryAndFileLoadTheSame(@TempDir Path tmp) throws IOException {
    Path plain = tmp.resolve("tokenizer.json");
    try (InputStream in =
        new GZIPInputStream(Files.newInputStream(qwenTokenizerDir().resolve("tokenizer.json.gz")))) {
      Files.copy(in, plain);
    }
    String text = "订单号：202403151234567890，I'd like a refund 🙏";
    int[] expected = tokenizer.encode(text);
    for (Path path : List.of(tmp, plain, qwenTokenizerDir().resolve("tokenizer.json.gz"))) {
      try (Tokenizer other = Tokenizer.load(path)) {
        assertThat(other.encode(text)).as("loaded from %s", path).containsExactly(expected);
        assertThat(other.vocabSize()).isEqualTo(tokenizer.vocabSize());
      }
    }
  }

  @Test
  void concurrentEncodingMatchesSequential() {
    List<String> texts = corpus().subList(0, 300);
    List<int[]> sequential = texts.stream().map(tokenizer::encode).toList();
    List<int[]> parallel = texts.parallelStream().map(tokenizer::encode).toList();
    IntStream.range(0, texts.size())
        .forEach(i -> assertThat(parallel.get(i)).containsExactly(sequential.get(i)));
  }

  private static byte[] bytesOf(String token) {
    return tokenizer.tokenBytes(tokenizer.tokenId(token).orElseThrow());
  }

  /** Reads all lines of a gzip resource; used by the reference tests. */
  static List<String> gzipLines(Path file) throws IOException {
    List<String> lines = new ArrayList<>();
    try (BufferedReader in =
        new BufferedReader(
            new InputStreamReader(
                new GZIPInputStream(Files.newInputStream(file)), StandardCharsets.UTF_8))) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        lines.add(line);
      }
    }
    return lines;
  }
}
