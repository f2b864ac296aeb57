package io.redress.inference.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Invariants over the whole corpus that need no reference: token bytes concatenate to the
 * decoded text, and decoding gives back the (NFC-normalized) input.
 */
class TokenizerCorpusTest {

  private static Tokenizer tokenizer;
  private static List<String> corpus;

  @BeforeAll
  static void load() {
    tokenizer = Tokenizer.load(TokenizerTest.qwenTokenizerDir());
    corpus = TokenizerTest.corpus();
  }

  @AfterAll
  static void close() {
    tokenizer.close();
  }

  @Test
  void corpusIsLargeAndVaried() {
    assertThat(corpus).hasSizeGreaterThanOrEqualTo(1_200).contains("");
    assertThat(corpus.stream().filter(s -> s.length() >= 5_000)).hasSizeGreaterThanOrEqualTo(3);
  }

  @Test
  void tokenBytesConcatenateToTheUtf8OfTheDecodedText() {
    List<String> failures = new ArrayList<>();
    for (int i = 0; i < corpus.size(); i++) {
      String text = corpus.get(i);
      int[] ids = tokenizer.encode(text);
      byte[] expected = tokenizer.decode(ids).getBytes(StandardCharsets.UTF_8);
      if (!Arrays.equals(TokenizerTest.concatTokenBytes(tokenizer, ids), expected)) {
        failures.add("line " + (i + 1) + ": " + preview(text));
      }
    }
    assertThat(failures).as("first mismatches").isEmpty();
  }

  @Test
  void decodeGivesBackTheNfcInput() {
    // Qwen's normalizer is NFC, so decode(encode(x)) is NFC(x), not x, for NFD input.
    List<String> failures = new ArrayList<>();
    for (int i = 0; i < corpus.size() && failures.size() < 10; i++) {
      String text = corpus.get(i);
      String decoded = tokenizer.decode(tokenizer.encode(text));
      if (!decoded.equals(Normalizer.normalize(text, Normalizer.Form.NFC))) {
        failures.add("line " + (i + 1) + ": " + preview(text) + " -> " + preview(decoded));
      }
    }
    assertThat(failures).as("first mismatches").isEmpty();
  }

  static String preview(String s) {
    String shown = s.length() > 80 ? s.substring(0, 80) + "...(" + s.length() + " chars)" : s;
    StringBuilder out = new StringBuilder("\"");
    shown.codePoints()
        .forEach(
            cp -> {
              if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
                out.append(String.format("\\u%04x", cp));
              } else {
                out.appendCodePoint(cp);
              }
            });
    return out.append('"').toString();
  }
}
