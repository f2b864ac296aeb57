package io.redress.inference.model;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Golden test against HF {@code tokenizers} in Python: for every corpus string, our ids equal
 * {@code Tokenizer.from_file(tokenizer.json).encode(text).ids} and our decoding equals
 * {@code decode(ids, skip_special_tokens=False)}.
 */
class TokenizerReferenceTest {

  private static final int SHOWN_MISMATCHES = 10;

  @Test
  void idsAndDecodingEqualHfTokenizers() throws IOException {
    Path reference = TokenizerTest.qwenTokenizerDir().resolveSibling("tokenizer/reference.jsonl.gz");
    Assumptions.assumeTrue(
        Files.isRegularFile(reference),
        "reference made by tools/make_fixtures.py on the GPU machine");
    List<String> corpus = TokenizerTest.corpus();
    List<String> lines = TokenizerTest.gzipLines(reference);
    assertThat(lines).as("reference lines, one per corpus line").hasSameSizeAs(corpus);

    ObjectMapper json = new ObjectMapper();
    List<String> mismatches = new ArrayList<>();
    int mismatchCount = 0;
    try (Tokenizer tokenizer = Tokenizer.load(TokenizerTest.qwenTokenizerDir())) {
      for (int i = 0; i < lines.size(); i++) {
        JsonNode ref = json.readTree(lines.get(i));
        String text = ref.get("text").asText();
        assertThat(text).as("reference line %d is for corpus line %d", i + 1, i + 1)
            .isEqualTo(corpus.get(i));
        int[] expectedIds = json.treeToValue(ref.get("ids"), int[].class);
        int[] ids = tokenizer.encode(text);
        String decoded = tokenizer.decode(ids);
        String expectedDecoded = ref.get("decoded").asText();
        if (!Arrays.equals(ids, expectedIds) || !decoded.equals(expectedDecoded)) {
          mismatchCount++;
          if (mismatches.size() < SHOWN_MISMATCHES) {
            mismatches.add(describe(i, text, ids, expectedIds, decoded, expectedDecoded));
          }
        }
      }
    }
    assertThat(mismatches)
        .as("%d of %d corpus strings differ from HF; the first ones", mismatchCount, lines.size())
        .isEmpty();
  }

  private static String describe(
      int i, String text, int[] ids, int[] expected, String decoded, String expectedDecoded) {
    int at = Arrays.mismatch(ids, expected);
    String where =
        at < 0
            ? "ids equal, decoding differs: "
                + TokenizerCorpusTest.preview(decoded)
                + " vs HF "
                + TokenizerCorpusTest.preview(expectedDecoded)
            : "ids differ at position "
                + at
                + ": ours "
                + window(ids, at)
                + " HF "
                + window(expected, at);
    return "line " + (i + 1) + " " + TokenizerCorpusTest.preview(text) + ": " + where;
  }

  private static String window(int[] ids, int at) {
    int from = Math.max(0, at - 2);
    int to = Math.min(ids.length, at + 3);
    return Arrays.toString(Arrays.copyOfRange(ids, from, to)) + " (of " + ids.length + ")";
  }
}
