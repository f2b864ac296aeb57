package io.redress.inference.guide;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Matcher behaviour on a byte-per-token vocabulary (token id = byte + 1, id 0 = EOS): which
 * documents are accepted whole, where bytes are refused, lengths in code points, escapes,
 * UTF-8, number ranges, object key order, EOS and termination.
 */
class MatcherTest {

  private static final TokenVocabulary BYTES = GuideFixtures.bytes();

  /** Whether the whole text is accepted, byte by byte with the mask checked, then EOS. */
  static boolean accepts(String schema, String text) {
    return accepts(JsonSchemaCompiler.compile(schema), text.getBytes(StandardCharsets.UTF_8));
  }

  static boolean accepts(CompiledSchema schema, byte[] bytes) {
    GrammarMatcher m = schema.newMatcher(BYTES);
    int[] words = new int[m.maskWords()];
    for (byte b : bytes) {
      int id = (b & 0xFF) + 1;
      m.fillNextTokenBitmask(words, 0);
      boolean inMask = (words[id >>> 5] & (1 << (id & 31))) != 0;
      boolean accepted = m.copy().acceptToken(id);
      assertThat(inMask).as("mask and acceptToken agree").isEqualTo(accepted);
      if (!m.acceptToken(id)) {
        return false;
      }
    }
    m.fillNextTokenBitmask(words, 0);
    boolean eosInMask = (words[0] & 1) != 0;
    assertThat(eosInMask).isEqualTo(m.isComplete());
    return m.acceptToken(0);
  }

  @ParameterizedTest(name = "{0} {1} -> {2}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
      {"type":"string","maxLength":2}              | `"é中"`              | true
      {"type":"string","maxLength":2}              | `"é中x"`             | false
      {"type":"string","maxLength":1}              | `"😀"`               | true
      {"type":"string","maxLength":1}              | `"\\ud83d\\ude00"`   | true
      {"type":"string","maxLength":1}              | `"\\u00e9"`          | true
      {"type":"string","maxLength":1}              | `"\\n"`              | true
      {"type":"string","minLength":2}              | `"\\n"`              | false
      {"type":"string","minLength":2}              | `"\\t\\""`           | true
      {"type":"string"}                            | `"\\udc00"`          | false
      {"type":"string"}                            | `"\\ud83dx"`         | false
      {"type":"string"}                            | `"\\ud83d\\u0041"`   | false
      {"type":"string"}                            | `"\\x41"`            | false
      {"type":"string"}                            | `"\\/\\b\\f\\r\\\\"` | true
      {"type":"string"}                            | `"a\tb"`             | false
      {"type":"string"}                            | `"a\u007fb"`         | true
      {"type":"string"}                            | `"\\u00"`            | false
      {"type":"string","pattern":"^[é]+$"}         | `"\\u00e9é"`         | true
      {"type":"string","pattern":"^[é]+$"}         | `"\\u00e8"`          | false
      {"type":"string","pattern":"^😀$"}           | `"\\uD83D\\uDE00"`   | true
      {"type":"string","pattern":"^a","maxLength":3} | `"abc"`            | true
      {"type":"string","pattern":"^a","maxLength":3} | `"bac"`            | false
      {"type":"integer","minimum":-5,"maximum":12} | -5                   | true
      {"type":"integer","minimum":-5,"maximum":12} | -6                   | false
      {"type":"integer","minimum":-5,"maximum":12} | 12                   | true
      {"type":"integer","minimum":-5,"maximum":12} | 13                   | false
      {"type":"integer","minimum":-5,"maximum":12} | -0                   | false
      {"type":"integer","minimum":-5,"maximum":12} | 05                   | false
      {"type":"integer"}                           | 1.0                  | false
      {"type":"number","minimum":0.5}              | 0.5                  | true
      {"type":"number","minimum":0.5}              | 0.49999              | false
      {"type":"number","minimum":0.5}              | 5e3                  | false
      {"type":"number"}                            | -0.5E+12             | true
      {"type":"number"}                            | 1e1234               | false
      {"type":"number"}                            | .5                   | false
      {"type":"boolean"}                           | true                 | true
      {"type":["null","boolean"]}                  | null                 | true
      {"enum":[1,10,"a"]}                          | 10                   | true
      {"enum":[1,10,"a"]}                          | 100                  | false
      {"properties":{"x":{"type":"integer"},"y":{"type":"integer"}}} | `{"y":1}`       | true
      {"properties":{"x":{"type":"integer"},"y":{"type":"integer"}}} | `{"y":1,"x":2}` | false
      {"properties":{"x":{"type":"integer"}},"required":["x"]}      | `{}`            | false
      {"properties":{"x":{"type":"integer"}}}                       | `{"z":1}`       | false
      {"properties":{"a":{"type":"integer"}},"additionalProperties":{"type":"boolean"}} | `{"a":1,"b":true}` | true
      {"properties":{"a":{"type":"integer"}},"additionalProperties":{"type":"boolean"}} | `{"b":true}`       | true
      {"properties":{"a":{"type":"integer"}},"additionalProperties":{"type":"boolean"}} | `{"a":1,"a":true}` | false
      {"properties":{"a":{"type":"integer"}},"additionalProperties":{"type":"boolean"}} | `{"b":true,"a":1}` | false
      {"properties":{"a":{"type":"integer"}},"additionalProperties":{"type":"boolean"}} | `{"\\u0061":true}` | false
      {"type":"object","properties":{"a":{"type":"integer"}}}     | `{ "a":1}`      | false
      {"type":"array","items":{"type":"integer"},"maxItems":2}    | `[1,2]`         | true
      {"type":"array","items":{"type":"integer"},"maxItems":2}    | `[1,2,3]`       | false
      {"type":"array","items":{"type":"integer"},"minItems":1}    | `[]`            | false
      {"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}]} | `["a",1]` | true
      {"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}]} | `["a",1,2]` | false
      {"type":"array","prefixItems":[{"type":"string"}],"items":{"type":"null"}} | `["a",null,null]` | true
      {"anyOf":[{"properties":{"a":{"type":"integer"}},"required":["a"]},{"properties":{"a":{"type":"string"}},"required":["a"]}]} | `{"a":"x"}` | true
      {"anyOf":[{"properties":{"a":{"type":"integer"}},"required":["a"]},{"properties":{"a":{"type":"string"}},"required":["a"]}]} | `{"a":7}`   | true
      {}                                           | `{"k":[1,{"z":null}],"é":"x"}` | true
      {}                                           | `{"k":1,}`           | false
      {"additionalProperties":{"type":"integer"}}  | `{"a":1,"ab":2,"b":3}` | true
      {"additionalProperties":{"type":"integer"}}  | `{"a":1,"b":2,"a":3}` | false
      {"additionalProperties":{"type":"integer"}}  | `{"é":1,"\u00e9":2}` | false
      {"type":"object"}                            | `{"x":{"x":1},"y":[{"x":2,"x":3}]}` | false
      {"type":"object"}                            | `{"x":{"x":1},"y":[{"x":2,"z":3}]}` | true
      {"const":{"b":[1,2],"a":null}}              | `{"b":[1,2],"a":null}` | true
      """)
  void acceptsExactlyValidDocuments(String schema, String text, boolean valid) {
    assertThat(accepts(schema, text)).isEqualTo(valid);
  }

  @Test
  void topLevelNumberMayEndOrGoOn() {
    GrammarMatcher m = JsonSchemaCompiler.compile("{\"type\":\"integer\"}").newMatcher(BYTES);
    m.acceptBytes("12".getBytes(StandardCharsets.UTF_8));
    int[] words = new int[m.maskWords()];
    m.fillNextTokenBitmask(words, 0);
    assertThat(m.isComplete()).isTrue();
    assertThat(m.isTerminated()).isFalse();
    assertThat(bit(words, 0)).isTrue(); // EOS
    assertThat(bit(words, '3' + 1)).isTrue();
    assertThat(m.forcedBytes()).isEmpty();
  }

  @Test
  void afterEosNothingIsAllowed() {
    GrammarMatcher m = JsonSchemaCompiler.compile("{\"type\":\"null\"}").newMatcher(BYTES);
    assertThat(m.forcedBytes()).isEqualTo("null".getBytes(StandardCharsets.UTF_8));
    m.acceptBytes(m.forcedBytes());
    assertThat(m.isTerminated()).isTrue();
    int[] words = new int[m.maskWords()];
    m.fillNextTokenBitmask(words, 0);
    assertThat(count(words)).isEqualTo(1);
    assertThat(bit(words, 0)).isTrue();
    assertThat(m.acceptToken(0)).isTrue();
    m.fillNextTokenBitmask(words, 0);
    assertThat(count(words)).isZero();
    assertThat(m.acceptToken(0)).isFalse();
    assertThat(m.isTerminated()).isTrue();
  }

  @Test
  void refusedInputLeavesTheStateAlone() {
    GrammarMatcher m = JsonSchemaCompiler.compile("{\"type\":\"array\",\"items\":{\"type\":"
        + "\"integer\"}}").newMatcher(BYTES);
    m.acceptBytes("[1".getBytes(StandardCharsets.UTF_8));
    int[] before = new int[m.maskWords()];
    m.fillNextTokenBitmask(before, 0);
    assertThat(m.acceptToken('x' + 1)).isFalse();
    assertThatThrownBy(() -> m.acceptBytes("]]".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(m.tryAcceptBytes(",x".getBytes(StandardCharsets.UTF_8))).isFalse();
    int[] after = new int[m.maskWords()];
    m.fillNextTokenBitmask(after, 0);
    assertThat(after).isEqualTo(before);
    GrammarMatcher copy = m.copy();
    copy.acceptBytes("]".getBytes(StandardCharsets.UTF_8));
    assertThat(copy.isComplete()).isTrue();
    assertThat(m.isComplete()).isFalse();
  }

  @Test
  void fillsOnlyItsWordsAtTheOffset() {
    GrammarMatcher m = JsonSchemaCompiler.compile("{\"type\":\"boolean\"}").newMatcher(BYTES);
    int n = m.maskWords();
    assertThat(n).isEqualTo((BYTES.modelVocabSize() + 31) / 32);
    int[] words = new int[3 * n];
    java.util.Arrays.fill(words, -1);
    m.fillNextTokenBitmask(words, n);
    assertThat(words[n - 1]).isEqualTo(-1);
    assertThat(words[2 * n]).isEqualTo(-1);
    int[] own = java.util.Arrays.copyOfRange(words, n, 2 * n);
    assertThat(count(own)).isEqualTo(2); // 't', 'f'
    assertThatThrownBy(() -> m.fillNextTokenBitmask(new int[n], 1))
        .isInstanceOf(IndexOutOfBoundsException.class);
  }

  static boolean bit(int[] words, int id) {
    return (words[id >>> 5] & (1 << (id & 31))) != 0;
  }

  static int count(int[] words) {
    int c = 0;
    for (int w : words) {
      c += Integer.bitCount(w);
    }
    return c;
  }
}
