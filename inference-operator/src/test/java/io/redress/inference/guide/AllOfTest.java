package io.redress.inference.guide;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code allOf}: branches merged into one schema that means their conjunction (properties
 * merged key by key, each branch's additionalProperties applied to the other's keys (so "a" of
 * one branch must also meet the other's additionalProperties), required
 * united, bounds tightened, anyOf/oneOf distributed over the rest); the same merge for keywords
 * beside anyOf/oneOf and beside $ref. Each accepted document is also checked by networknt.
 */
class AllOfTest {

  private static final String BASE = "\"$defs\":{\"base\":{\"type\":\"object\","
      + "\"properties\":{\"id\":{\"type\":\"integer\",\"minimum\":1}},\"required\":[\"id\"]}}";

  @ParameterizedTest(name = "{0} {1} -> {2}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
      {"allOf":[{"type":"string"}]}                                          | `"x"`          | true
      {"allOf":[{"type":"string"}]}                                          | `1`            | false
      {"allOf":[{"type":"string","minLength":2},{"maxLength":3}]}            | `"ab"`         | true
      {"allOf":[{"type":"string","minLength":2},{"maxLength":3}]}            | `"abcd"`       | false
      {"allOf":[{"type":"string","minLength":2},{"maxLength":3}]}            | `"a"`          | false
      {"allOf":[{"type":["integer","string"]},{"type":["integer","null"]}]}  | `5`            | true
      {"allOf":[{"type":["integer","string"]},{"type":["integer","null"]}]}  | `"a"`          | false
      {"allOf":[{"type":"number","minimum":0},{"maximum":10}]}               | `10`           | true
      {"allOf":[{"type":"number","minimum":0},{"maximum":10}]}               | `11`           | false
      {"allOf":[{"type":"number","minimum":0},{"maximum":10}]}               | `-1`           | false
      {"allOf":[{"enum":["a","b","c"]},{"enum":["b","c","d"]}]}              | `"b"`          | true
      {"allOf":[{"enum":["a","b","c"]},{"enum":["b","c","d"]}]}              | `"a"`          | false
      {"allOf":[{"enum":["a","b"]},{"const":"b"}]}                           | `"b"`          | true
      {"allOf":[{"enum":["a","b"]},{"const":"b"}]}                           | `"a"`          | false
      {"allOf":[{"type":"string","format":"date"},{"pattern":"^2024"}]}      | `"2024-01-02"` | true
      {"allOf":[{"type":"string","format":"date"},{"pattern":"^2024"}]}      | `"2023-01-02"` | false
      {"allOf":[{"$ref":"#/$defs/base"},{"properties":{"name":{"type":"string"}},"required":["name"]}],`BASE`} | `{"id":1,"name":"x"}` | true
      {"allOf":[{"$ref":"#/$defs/base"},{"properties":{"name":{"type":"string"}},"required":["name"]}],`BASE`} | `{"id":1}` | false
      {"allOf":[{"$ref":"#/$defs/base"},{"properties":{"name":{"type":"string"}},"required":["name"]}],`BASE`} | `{"id":0,"name":"x"}` | false
      {"allOf":[{"$ref":"#/$defs/base"},{"properties":{"name":{"type":"string"}},"required":["name"]}],`BASE`} | `{"name":"x"}` | false
      {"allOf":[{"properties":{"a":{"type":"integer"}},"additionalProperties":false},{"properties":{"a":{"minimum":3},"b":{}}}]} | `{"a":3}` | true
      {"allOf":[{"properties":{"a":{"type":"integer"}},"additionalProperties":false},{"properties":{"a":{"minimum":3},"b":{}}}]} | `{"a":2}` | false
      {"allOf":[{"properties":{"a":{"type":"integer"}},"additionalProperties":false},{"properties":{"a":{"minimum":3},"b":{}}}]} | `{"a":3,"b":1}` | false
      {"allOf":[{"properties":{"a":{"type":"integer"}}},{"additionalProperties":{"type":"string"}}]} | `{"a":1,"z":"s"}` | false
      {"allOf":[{"properties":{"a":{"type":"integer"}}},{"additionalProperties":{"type":"string"}}]} | `{"a":1,"z":2}` | false
      {"allOf":[{"properties":{"a":{"type":"integer"}}},{"additionalProperties":{"type":"string"}}]} | `{"z":"s"}` | true
      {"allOf":[{"type":"array","prefixItems":[{"type":"integer"}]},{"items":{"type":"integer","maximum":5},"maxItems":2}]} | `[5,4]` | true
      {"allOf":[{"type":"array","prefixItems":[{"type":"integer"}]},{"items":{"type":"integer","maximum":5},"maxItems":2}]} | `[6]` | false
      {"allOf":[{"type":"array","prefixItems":[{"type":"integer"}]},{"items":{"type":"integer","maximum":5},"maxItems":2}]} | `[1,2,3]` | false
      {"allOf":[{"anyOf":[{"type":"string"},{"type":"integer"}]},{"minimum":3,"maxLength":1}]} | `"a"` | true
      {"allOf":[{"anyOf":[{"type":"string"},{"type":"integer"}]},{"minimum":3,"maxLength":1}]} | `"ab"` | false
      {"allOf":[{"anyOf":[{"type":"string"},{"type":"integer"}]},{"minimum":3,"maxLength":1}]} | `2` | false
      {"allOf":[{"anyOf":[{"type":"string"},{"type":"integer"}]},{"minimum":3,"maxLength":1}]} | `3` | true
      {"type":"integer","allOf":[{"minimum":1},true],"maximum":2}           | `2`            | true
      {"type":"integer","allOf":[{"minimum":1},true],"maximum":2}           | `0`            | false
      {"oneOf":[{"type":"string"},{"type":"null"}],"allOf":[{"maxLength":2}]} | `"abc"`      | false
      {"oneOf":[{"type":"string"},{"type":"null"}],"allOf":[{"maxLength":2}]} | `null`       | true
      {"anyOf":[{"type":"string"},{"type":"integer"}],"minLength":2,"maximum":5} | `"ab"`     | true
      {"anyOf":[{"type":"string"},{"type":"integer"}],"minLength":2,"maximum":5} | `"a"`      | false
      {"anyOf":[{"type":"string"},{"type":"integer"}],"minLength":2,"maximum":5} | `6`        | false
      {"type":"object","properties":{"k":{"enum":["a","b"]}},"required":["k"],"oneOf":[{"properties":{"k":{"const":"a"}}},{"properties":{"k":{"const":"b"}}}]} | `{"k":"a"}` | true
      {"type":"object","properties":{"k":{"enum":["a","b"]}},"required":["k"],"oneOf":[{"properties":{"k":{"const":"a"}}},{"properties":{"k":{"const":"b"}}}]} | `{"k":"c"}` | false
      {"$ref":"#/$defs/s","maxLength":2,"$defs":{"s":{"type":"string","minLength":1}}} | `"ab"` | true
      {"$ref":"#/$defs/s","maxLength":2,"$defs":{"s":{"type":"string","minLength":1}}} | `"abc"` | false
      {"$ref":"#/$defs/s","maxLength":2,"$defs":{"s":{"type":"string","minLength":1}}} | `""` | false
      """)
  void mergesBranches(String schema, String text, boolean ok) {
    schema = schema.replace("`BASE`", BASE);
    assertThat(MatcherTest.accepts(schema, text)).isEqualTo(ok);
    if (ok) {
      assertThat(new NetworkntValidator(schema).errors(text.getBytes(StandardCharsets.UTF_8)))
          .isEmpty();
    }
  }
}
