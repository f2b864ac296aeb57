package io.redress.inference.guide;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.util.List;
import java.util.Map;

/**
 * One schema as read and checked by {@link SchemaReader}: the supported keywords' values, or a
 * boolean schema. Absent keywords are null ({@code format} too when its name is unknown and
 * ignored; {@code formatRegex} is null for the integer formats). {@code pointer} is where the schema sits in the
 * document, for error messages; {@code $ref} stays a pointer, resolved by the reader.
 */
record Schema(
    String pointer,
    Boolean bool,
    Integer types,
    Map<String, Schema> properties,
    List<String> required,
    Schema additionalProperties,
    List<JsonNode> enumValues,
    JsonNode constValue,
    Schema items,
    List<Schema> prefixItems,
    Integer minItems,
    Integer maxItems,
    Integer minLength,
    Integer maxLength,
    BigDecimal minimum,
    BigDecimal maximum,
    String pattern,
    Regex patternRegex,
    String format,
    Regex formatRegex,
    List<Schema> anyOf,
    List<Schema> oneOf,
    String ref,
    List<PatternProperty> patternProperties,
    Integer minProperties,
    Negation negation) {

  /** One {@code patternProperties} entry: members whose name the regex finds obey schema. */
  record PatternProperty(String pattern, Regex regex, Schema schema) {}

  /**
   * The forms of {@code not} we support, all exclusions: object members that must be absent
   * ({@code not: {required: [k]}}), values ({@code not: {enum/const}} of strings, booleans,
   * null) and string patterns ({@code not: {pattern}}). Several (from allOf) add up.
   */
  record Negation(List<String> absentKeys, List<JsonNode> values, List<String> patterns,
      List<Regex> regexes) {

    Negation plus(Negation o) {
      if (o == null) {
        return this;
      }
      return new Negation(concat(absentKeys, o.absentKeys), concat(values, o.values),
          concat(patterns, o.patterns), concat(regexes, o.regexes));
    }

    private static <T> List<T> concat(List<T> a, List<T> b) {
      List<T> out = new java.util.ArrayList<>(a);
      out.addAll(b);
      return List.copyOf(out);
    }
  }

  static Schema bool(String pointer, boolean value) {
    return new Schema(pointer, value, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, null, null, null, null);
  }

  boolean isTrue() {
    return Boolean.TRUE.equals(bool);
  }

  boolean isFalse() {
    return Boolean.FALSE.equals(bool);
  }

  /** The types the type-specific keywords present imply, ALL when none is present. */
  int impliedTypes() {
    int t = 0;
    if (properties != null || required != null || additionalProperties != null
        || patternProperties != null || minProperties != null) {
      t |= JsonType.OBJECT.bit();
    }
    if (items != null || prefixItems != null || minItems != null || maxItems != null) {
      t |= JsonType.ARRAY.bit();
    }
    if (minLength != null || maxLength != null || pattern != null || formatRegex != null) {
      t |= JsonType.STRING.bit();
    }
    if (minimum != null || maximum != null) {
      t |= JsonType.NUMBER;
    }
    return t == 0 ? JsonType.ALL : t;
  }

  /** The pointer of one of this schema's keywords. */
  String at(String keyword) {
    return pointer + "/" + SchemaReader.escape(keyword);
  }
}
