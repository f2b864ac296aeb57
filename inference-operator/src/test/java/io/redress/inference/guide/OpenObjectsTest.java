package io.redress.inference.guide;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * Absent additionalProperties: closed by default (a model cannot invent keys), open on request
 * (JSON Schema's own reading); an explicit additionalProperties wins either way.
 */
class OpenObjectsTest {

  private static final String SCHEMA = "{\"type\":\"object\",\"properties\":{\"a\":"
      + "{\"type\":\"integer\"}},\"required\":[\"a\"]}";

  private static boolean accepts(String schema, boolean open, String text) {
    return MatcherTest.accepts(JsonSchemaCompiler.compile(schema, open),
        text.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void closedByDefault() {
    assertThat(accepts(SCHEMA, false, "{\"a\":1}")).isTrue();
    assertThat(accepts(SCHEMA, false, "{\"a\":1,\"b\":2}")).isFalse();
  }

  @Test
  void openObjectsAcceptOtherMembersButStillCheckDeclaredOnes() {
    assertThat(accepts(SCHEMA, true, "{\"a\":1,\"b\":[true,{\"c\":null}]}")).isTrue();
    assertThat(accepts(SCHEMA, true, "{\"a\":\"x\",\"b\":2}")).isFalse();
    assertThat(accepts(SCHEMA, true, "{\"b\":2}")).isFalse(); // a is required
    // A declared name cannot come back as an "other" member with a value of any type.
    assertThat(accepts(SCHEMA, true, "{\"a\":1,\"a\":\"x\"}")).isFalse();
  }

  /**
   * Extra-key masks come from the shared plain-string tables with only the closing tokens
   * checked: at every prefix of a declared name (and of a used one), every token of the real
   * vocabulary is in the mask exactly when the automaton accepts it.
   */
  @Test
  void extraKeyMasksAgreeWithTheAutomatonForEveryToken() {
    TokenVocabulary vocab = GuideFixtures.qwen();
    CompiledSchema schema = JsonSchemaCompiler.compile("{\"type\":\"object\",\"properties\":"
        + "{\"name\":{\"type\":\"string\"},\"nickname\":{\"type\":\"integer\"},"
        + "\"n\":{\"type\":\"boolean\"}}}", true);
    int[] mask = new int[vocab.maskWords()];
    int checked = 0;
    for (String prefix : new String[] {"{", "{\"", "{\"n", "{\"na", "{\"name", "{\"nick",
        "{\"x", "{\"\\u006e", "{\"name\":\"v\",\"", "{\"name\":\"v\",\"na",
        "{\"q\":1,\"q"}) {
      GrammarMatcher m = schema.newMatcher(vocab);
      m.acceptBytes(prefix.getBytes(StandardCharsets.UTF_8));
      m.fillNextTokenBitmask(mask, 0);
      for (int id = 0; id < vocab.modelVocabSize(); id++) {
        boolean inMask = MatcherTest.bit(mask, id);
        if (inMask != m.copy().acceptToken(id)) {
          throw new AssertionError("after " + prefix + ": token " + id + " '"
              + new String(vocab.bytes(id) == null ? new byte[0] : vocab.bytes(id),
                  StandardCharsets.UTF_8) + "' mask " + inMask);
        }
        checked++;
      }
    }
    assertThat(checked).isGreaterThan(1_000_000);
  }

  @Test
  void explicitAdditionalPropertiesWins() {
    String closed = SCHEMA.replace("\"required\"", "\"additionalProperties\":false,\"required\"");
    assertThat(accepts(closed, true, "{\"a\":1,\"b\":2}")).isFalse();
    String typed = SCHEMA.replace("\"required\"",
        "\"additionalProperties\":{\"type\":\"string\"},\"required\"");
    assertThat(accepts(typed, true, "{\"a\":1,\"b\":\"s\"}")).isTrue();
    assertThat(accepts(typed, true, "{\"a\":1,\"b\":2}")).isFalse();
  }
}
