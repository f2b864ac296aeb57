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
