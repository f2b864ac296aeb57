package io.redress.inference.guide;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * patternProperties, minProperties, the supported forms of not, and draft 4-2019 tuples (items
 * as an array, additionalItems): the matcher accepts a document exactly as expected, and
 * networknt agrees wherever we accept (an accepted invalid document would be a soundness bug).
 * Schemas compile with open objects (JSON Schema's reading) unless the row says closed.
 */
class KeywordsTest {

  @ParameterizedTest(name = "{0} {1} -> {2}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
      {"patternProperties":{"^x-":{"type":"integer"}},"additionalProperties":false} | `{"x-a":1}` | true
      {"patternProperties":{"^x-":{"type":"integer"}},"additionalProperties":false} | `{"x-a":"s"}` | false
      {"patternProperties":{"^x-":{"type":"integer"}},"additionalProperties":false} | `{"y":1}` | false
      {"patternProperties":{"^x-":{"type":"integer"}},"additionalProperties":{"type":"string"}} | `{"y":"s","x-":2}` | true
      {"patternProperties":{"^x-":{"type":"integer"}},"additionalProperties":{"type":"string"}} | `{"x-y":"s"}` | false
      {"patternProperties":{"a":{"type":"integer","minimum":0},"b$":{"maximum":10}}} | `{"ab":5}` | true
      {"patternProperties":{"a":{"type":"integer","minimum":0},"b$":{"maximum":10}}} | `{"ab":11}` | false
      {"patternProperties":{"a":{"type":"integer","minimum":0},"b$":{"maximum":10}}} | `{"ab":-1}` | false
      {"patternProperties":{"a":{"type":"integer","minimum":0},"b$":{"maximum":10}}} | `{"b":11.5,"zz":null}` | false
      {"patternProperties":{"a":{"type":"integer","minimum":0},"b$":{"maximum":10}}} | `{"b":1.5,"zz":null}` | true
      {"properties":{"xa":{"type":"integer"}},"patternProperties":{"^x":{"minimum":5}}} | `{"xa":6}` | true
      {"properties":{"xa":{"type":"integer"}},"patternProperties":{"^x":{"minimum":5}}} | `{"xa":4}` | false
      {"properties":{"a":{}},"required":["a"],"patternProperties":{"^x":{}},"closed":1} | `{"a":1,"xy":2}` | true
      {"properties":{"a":{}},"required":["a"],"patternProperties":{"^x":{}},"closed":1} | `{"a":1,"y":2}` | false
      {"type":"object","minProperties":2} | `{"a":1}` | false
      {"type":"object","minProperties":2} | `{"a":1,"b":2}` | true
      {"type":"object","minProperties":2} | `{}` | false
      {"properties":{"a":{}},"required":["a"],"minProperties":1,"closed":1} | `{"a":1}` | true
      {"properties":{"a":{},"b":{}},"minProperties":2} | `{"a":1}` | false
      {"properties":{"a":{},"b":{}},"minProperties":2} | `{"a":1,"c":2}` | true
      {"type":"string","not":{"enum":["a","b"]}} | `"a"` | false
      {"type":"string","not":{"enum":["a","b"]}} | `"ab"` | true
      {"type":"string","not":{"enum":["a","b"]}} | `""` | true
      {"not":{"const":null}} | `null` | false
      {"not":{"const":null}} | `false` | true
      {"type":"string","maxLength":3,"not":{"pattern":"^[0-9]"}} | `"1a"` | false
      {"type":"string","maxLength":3,"not":{"pattern":"^[0-9]"}} | `"a1"` | true
      {"type":"string","not":{"pattern":"x$"}} | `"ax"` | false
      {"type":"string","not":{"pattern":"x$"}} | `"ax\\n"` | false
      {"not":{"type":["string","null"]}} | `"s"` | false
      {"not":{"type":["string","null"]}} | `1` | true
      {"properties":{"a":{"not":{}}}} | `{"a":1}` | false
      {"properties":{"a":{"not":{}}}} | `{"b":1}` | true
      {"type":"object","not":{"required":["a"]}} | `{"a":1}` | false
      {"type":"object","not":{"required":["a"]}} | `{"b":1}` | true
      {"properties":{"a":{},"b":{}},"not":{"anyOf":[{"required":["a"]},{"required":["b"]}]}} | `{"b":1}` | false
      {"properties":{"a":{},"b":{}},"not":{"anyOf":[{"required":["a"]},{"required":["b"]}]}} | `{"c":1}` | true
      {"$schema":"http://json-schema.org/draft-07/schema#","type":"array","items":[{"type":"string"},{"type":"integer"}]} | `["a",1,null]` | true
      {"$schema":"http://json-schema.org/draft-07/schema#","type":"array","items":[{"type":"string"},{"type":"integer"}]} | `[1]` | false
      {"$schema":"http://json-schema.org/draft-07/schema#","type":"array","items":[{"type":"string"}],"additionalItems":false} | `["a",1]` | false
      {"$schema":"http://json-schema.org/draft-07/schema#","type":"array","items":[{"type":"string"}],"additionalItems":{"type":"integer"}} | `["a",1,2]` | true
      {"$schema":"http://json-schema.org/draft-07/schema#","type":"array","items":{"type":"string"},"additionalItems":false} | `["a","b"]` | true
      """)
  void keywords(String schema, String text, boolean ok) {
    boolean closed = schema.contains("\"closed\":1");
    String json = schema.replace(",\"closed\":1", "");
    CompiledSchema compiled = JsonSchemaCompiler.compile(json, !closed);
    byte[] document = text.getBytes(StandardCharsets.UTF_8);
    assertThat(MatcherTest.accepts(compiled, document)).isEqualTo(ok);
    if (ok) {
      assertThat(new NetworkntValidator(json).errors(document)).as(text).isEmpty();
    }
  }
}
