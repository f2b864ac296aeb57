package io.redress.inference.guide;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Schemas we must refuse at submit time: unsupported keywords, invalid values, unsatisfiable
 * constraints. Each error names the keyword and its JSON pointer.
 */
class SchemaErrorsTest {

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
      # unsupported keywords
      format            | {"type":"string","format":"iso-time"}                           | /format
      patternProperties | {"type":"object","patternProperties":{"^a":{},"b":{},"c":{},"d":{},"e":{}}} | /patternProperties
      patternProperties | {"type":"object","patternProperties":{"(?=a)":{}}}              | /patternProperties/(?=a)
      allOf             | {"allOf":[{"patternProperties":{"^a":{}}},{"properties":{"b":{}}}]} | /allOf
      exclusiveMinimum  | {"type":"number","exclusiveMinimum":0}                          | /exclusiveMinimum
      exclusiveMaximum  | {"properties":{"a":{"type":"number","exclusiveMaximum":1}}}     | /properties/a/exclusiveMaximum
      multipleOf        | {"type":"integer","multipleOf":2}                               | /multipleOf
      allOf             | {"allOf":[{"type":"string","pattern":"a"},{"pattern":"b"}]}     | /allOf
      allOf             | {"allOf":[{"anyOf":[{"type":"string"}]},{"oneOf":[{"type":"null"}]}]} | /allOf
      allOf             | {"allOf":[{"$ref":"#"}]}                                        | /allOf
      allOf             | {"$defs":{"a":{"allOf":[{"$ref":"#/$defs/b"}]},"b":{"allOf":[{"$ref":"#/$defs/a"}]}},"$ref":"#/$defs/a"} | /$defs/b/allOf
      allOf             | {"properties":{"p":{"allOf":[{"$ref":"#"}]}}}                   | /properties/p/allOf
      allOf             | {"allOf":[{"const":1},{"const":2}]}                             | /allOf
      allOf             | {"allOf":[{"enum":[1,2]},{"enum":[3]}]}                         | /allOf
      allOf             | {"allOf":[{"minLength":3},{"maxLength":2}]}                     | /allOf
      not               | {"allOf":[{"type":"string"},{"not":{"minLength":3}}]}           | /allOf/1/not
      required          | {"allOf":[{"properties":{"a":{}},"additionalProperties":false},{"required":["b"]}]} | /required
      required          | {"allOf":[{"properties":{"a":{"type":"string"}},"required":["a"]},{"properties":{"a":{"type":"integer"}}}]} | /required
      not               | {"not":{"type":"string","minLength":2}}                         | /not
      not               | {"not":{"enum":[1,"a"]}}                                        | /not
      not               | {"not":{"required":["a","b"]}}                                  | /not
      not               | {"properties":{"a":{}},"required":["a"],"not":{"required":["a"]}} | /not
      if                | {"if":{"type":"string"},"then":{"minLength":1}}                 | /if
      uniqueItems       | {"type":"array","uniqueItems":true}                             | /uniqueItems
      items             | {"type":"array","items":[{}],"prefixItems":[{}]}                | /items
      dependencies      | {"type":"object","dependencies":{"a":["b"]}}                    | /dependencies
      contentEncoding   | {"type":"string","contentEncoding":"base64"}                    | /contentEncoding
      $anchor           | {"$anchor":"a","type":"string"}                                 | /$anchor
      divisibleBy       | {"type":"integer","divisibleBy":2}                              | /divisibleBy
      $id               | {"properties":{"a":{"$id":"http://x/a","$ref":"#/$defs/b","$defs":{"b":{}}}}} | /properties/a/$id
      id                | {"properties":{"a":{"id":"http://x/a","items":{"$ref":"#"}}}}   | /properties/a/id
      contains          | {"type":"array","contains":{"type":"string"}}                   | /contains
      minProperties     | {"type":"object","properties":{"a":{}},"minProperties":1}       | /minProperties
      propertyNames     | {"type":"object","propertyNames":{"maxLength":3}}               | /propertyNames
      dependentRequired | {"type":"object","dependentRequired":{"a":["b"]}}               | /dependentRequired
      unevaluatedProperties | {"type":"object","unevaluatedProperties":false}             | /unevaluatedProperties
      $dynamicRef       | {"$dynamicRef":"#meta"}                                         | /$dynamicRef
      format            | {"$defs":{"d":{"format":"iso-date-time"}},"$ref":"#/$defs/d"}   | /$defs/d/format
      format            | {"type":"array","items":{"type":"string","format":"alpha"}}    | /items/format
      format            | {"properties":{"a~b/c":{"format":"color"}}}                     | /properties/a~0b~1c/format
      format            | {"type":"string","format":5}                                    | /format
      readOnly          | {"type":"string","readOnly":"yes"}                              | /readOnly
      # invalid values
      type              | {"type":"strng"}                                                | /type
      type              | {"type":[]}                                                     | /type
      type              | {"type":["string","string"]}                                    | /type
      minItems          | {"type":"array","minItems":-1}                                  | /minItems
      maxLength         | {"type":"string","maxLength":1.5}                               | /maxLength
      minimum           | {"type":"number","minimum":"0"}                                 | /minimum
      required          | {"type":"object","required":"a"}                                | /required
      required          | {"type":"object","required":["a","a"]}                          | /required
      enum              | {"enum":[]}                                                     | /enum
      items             | {"type":"array","items":[]}                                     | /items
      prefixItems       | {"type":"array","prefixItems":[]}                               | /prefixItems
      anyOf             | {"anyOf":[]}                                                    | /anyOf
      pattern           | {"type":"string","pattern":"(a"}                                | /pattern
      pattern           | {"type":"string","pattern":"\\\\bword"}                         | /pattern
      pattern           | {"type":"string","pattern":"(?=a)b"}                            | /pattern
      pattern           | {"type":"string","pattern":"(a)\\\\1"}                          | /pattern
      pattern           | {"type":"string","pattern":"a{2"}                               | /pattern
      pattern           | {"type":"string","pattern":"a++"}                               | /pattern
      pattern           | {"type":"string","pattern":"[a-z&&[^b]]"}                       | /pattern
      pattern           | {"type":"string","pattern":"\\\\p{L}"}                          | /pattern
      properties        | {"type":"object","properties":{"a":5}}                          | /properties/a
      title             | {"title":5}                                                     | /title
      $ref              | {"$ref":"http://example.com/s.json"}                            | /$ref
      $ref              | {"$ref":"#/$defs/missing"}                                      | /$ref
      $ref              | {"$ref":"#anchor"}                                              | /$ref
      oneOf             | {"anyOf":[{"type":"string"}],"oneOf":[{"type":"null"}]}         | /oneOf
      $ref              | {"properties":{"c":{"$ref":"#","type":"object"}}}               | /properties/c/$ref
      anyOf             | {"anyOf":[{"type":"string","pattern":"a"}],"pattern":"b"}       | /anyOf
      json              | {"type":"object"                                                | ``
      json              | [1,2]                                                           | ``
      json              | {"type":"object","type":"string"}                               | ``
      # unsatisfiable
      minItems          | {"type":"array","minItems":3,"maxItems":2}                      | /minItems
      minLength         | {"properties":{"s":{"type":"string","minLength":5,"maxLength":4}}} | /properties/s/minLength
      minimum           | {"type":"number","minimum":2,"maximum":1}                       | /minimum
      minimum           | {"type":"integer","minimum":1.2,"maximum":1.8}                  | /minimum
      enum              | {"type":"string","enum":[1,2]}                                  | /enum
      enum              | {"type":"string","maxLength":2,"enum":["abc"]}                  | /enum
      const             | {"type":"integer","minimum":5,"const":3}                        | /const
      required          | {"type":"object","required":["x"],"additionalProperties":false} | /required
      required          | {"type":"object","properties":{"x":false},"required":["x"]}     | /required
      minItems          | {"type":"array","prefixItems":[{"type":"null"}],"items":false,"minItems":2} | /minItems
      minItems          | {"type":"array","items":false,"minItems":1}                     | /minItems
      pattern           | {"type":"string","pattern":"^a{5}$","maxLength":3}              | /pattern
      pattern           | {"type":"string","pattern":"[^\\\\s\\\\S]"}                     | /pattern
      format            | {"type":"string","format":"date","pattern":"^x"}                | /format
      format            | {"type":"string","format":"uuid","maxLength":10}                | /format
      enum              | {"type":"string","format":"date","enum":["tomorrow"]}           | /enum
      schema            | false                                                           | ``
      $ref              | {"$defs":{"n":{"type":"object","properties":{"next":{"$ref":"#/$defs/n"}},"required":["next"]}},"$ref":"#/$defs/n"} | /$defs/n
      $ref              | {"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"} | ``
      oneOf             | {"oneOf":[{"type":"string"},{"type":"string","maxLength":3}]}   | /oneOf
      oneOf             | {"oneOf":[{"type":"integer"},{"type":"number"}]}                | /oneOf
      oneOf             | {"oneOf":[{"type":"object","properties":{"k":{"const":"a"}}},{"type":"object","properties":{"k":{"const":"b"}}}]} | /oneOf
      oneOf             | {"oneOf":[{"type":"string","pattern":"^a$"},{"type":"string","pattern":"^a\\\\n$"}]} | /oneOf
      """)
  void refusesWithKeywordAndPointer(String keyword, String schema, String pointer) {
    assertThatThrownBy(() -> JsonSchemaCompiler.compile(schema))
        .isInstanceOf(SchemaException.class)
        .satisfies(e -> {
          SchemaException s = (SchemaException) e;
          assertThat(s.keyword()).isEqualTo(keyword);
          if (!pointer.isEmpty()) {
            assertThat(s.pointer()).isEqualTo(pointer);
          }
          assertThat(s.getMessage()).contains("'" + keyword + "'")
              .contains(pointer.isEmpty() ? "" : pointer);
        });
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
      annotations     | {"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"x","title":"t","description":"d","examples":[1],"default":1,"$comment":"c","type":"integer"}
      oneOf by type   | {"oneOf":[{"type":"string"},{"type":"integer"},{"type":"null"}]}
      oneOf by const  | {"oneOf":[{"type":"object","properties":{"k":{"const":"a"}},"required":["k"]},{"type":"object","properties":{"k":{"const":"b"}},"required":["k"]}]}
      oneOf by range  | {"oneOf":[{"type":"integer","maximum":0},{"type":"number","minimum":0.5}]}
      oneOf by length | {"oneOf":[{"type":"string","maxLength":2},{"type":"string","minLength":3}]}
      oneOf patterns  | {"oneOf":[{"type":"string","pattern":"^a+$"},{"type":"string","pattern":"^b+$"}]}
      oneOf by enum   | {"oneOf":[{"enum":["a","b"]},{"type":"string","pattern":"^c"}]}
      definitions     | {"definitions":{"a":{"type":"string"}},"$ref":"#/definitions/a"}
      root ref        | {"type":"object","properties":{"next":{"anyOf":[{"$ref":"#"},{"type":"null"}]}},"required":["next"]}
      optional false  | {"type":"object","properties":{"never":false,"x":{"type":"null"}}}
      type next to anyOf | {"type":"string","anyOf":[{"maxLength":3},{"type":"integer"}]}
      unknown keywords | {"type":"object","x-order":1,"javaType":"Foo","properties":{"a":{"type":"string","_format":"date","readonly":true}}}
      more annotations | {"type":"string","deprecated":true,"readOnly":false,"writeOnly":false}
      formats         | {"type":"object","properties":{"d":{"format":"date-time"},"e":{"format":"email"},"u":{"format":"uri"},"i":{"format":"uuid"},"n":{"type":"integer","format":"int64"}}}
      unknown format  | {"type":"string","format":"textarea"}
      uniqueItems false | {"type":"array","uniqueItems":false}
      root id         | {"id":"http://example.com/s","definitions":{"a":{"type":"string"}},"$ref":"#/definitions/a"}
      nested fragment id | {"properties":{"a":{"id":"#a","items":{"$ref":"#"}}}}
      beside $ref     | {"$ref":"#/$defs/a","minLength":1,"$defs":{"a":{"type":"string"}}}
      beside anyOf    | {"anyOf":[{"type":"string"}],"minLength":2}
      defs in defs    | {"$defs":{"a":{"$defs":{"b":{"type":"string"}},"$ref":"#/$defs/a/$defs/b"}},"$ref":"#/$defs/a"}
      """)
  void accepts(String name, String schema) {
    assertThat(JsonSchemaCompiler.compile(schema)).isNotNull();
  }
}
