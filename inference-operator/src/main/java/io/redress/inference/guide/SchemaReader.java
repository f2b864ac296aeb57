package io.redress.inference.guide;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.math.BigDecimal;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads a schema document into {@link Schema}s, checking every keyword: unsupported ones, values
 * of the wrong shape and locally contradictory bounds are {@link SchemaException}s naming the
 * keyword and its JSON pointer. {@code $ref} targets (local JSON pointers: {@code #},
 * {@code #/$defs/name}, ...) are read on first use and kept.
 */
final class SchemaReader {

  /**
   * Numbers exactly as written (and written back without exponent); duplicate keys are an
   * error, not "last one wins".
   */
  static final ObjectMapper JSON = JsonMapper.builder()
      .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN)
      .build();

  static final Set<String> SUPPORTED = Set.of("type", "properties", "required",
      "additionalProperties", "enum", "const", "items", "prefixItems", "minItems", "maxItems",
      "minLength", "maxLength", "minimum", "maximum", "pattern", "anyOf", "oneOf", "$ref",
      "$defs", "definitions");
  static final Set<String> ANNOTATIONS = Set.of("$schema", "$id", "title", "description",
      "examples", "default", "$comment");
  private static final Set<String> NEXT_TO_COMBINATOR = Set.of("type", "$defs", "definitions");

  private final JsonNode root;
  private final Map<String, Schema> byPointer = new HashMap<>();

  private SchemaReader(JsonNode root) {
    this.root = root;
  }

  /** Parses and reads a whole document; returns the reader, whose {@link #root()} is the top. */
  static SchemaReader parse(String schemaJson) {
    JsonNode node;
    try {
      node = JSON.readTree(schemaJson);
    } catch (JsonProcessingException e) {
      throw new SchemaException("json", "", "the schema is not valid JSON ("
          + e.getOriginalMessage() + ")");
    }
    if (node == null || !(node.isObject() || node.isBoolean())) {
      throw new SchemaException("json", "", "a schema must be a JSON object or a boolean");
    }
    SchemaReader reader = new SchemaReader(node);
    reader.byPointer.put("", reader.read(node, ""));
    return reader;
  }

  Schema root() {
    return byPointer.get("");
  }

  /** The schema a {@code $ref} names, read on first use. */
  Schema resolve(Schema from) {
    String ref = from.ref();
    String keyword = from.at("$ref");
    if (!ref.startsWith("#")) {
      throw new SchemaException("$ref", keyword, "only references inside the schema ('#', "
          + "'#/$defs/name') are supported, not '" + ref + "'");
    }
    String pointer = URLDecoder.decode(ref.substring(1), StandardCharsets.UTF_8);
    Schema known = byPointer.get(pointer);
    if (known != null) {
      return known;
    }
    JsonNode target = pointer.isEmpty() ? root : root.at(pointer);
    if (!pointer.isEmpty() && !pointer.startsWith("/") || target.isMissingNode()) {
      throw new SchemaException("$ref", keyword, "'" + ref + "' points at nothing in the schema");
    }
    Schema s = read(target, pointer);
    byPointer.put(pointer, s);
    return s;
  }

  private Schema read(JsonNode node, String at) {
    if (node.isBoolean()) {
      return Schema.bool(at, node.booleanValue());
    }
    if (!node.isObject()) {
      throw new SchemaException(ownerKeyword(at), at, "a schema must be an object or a boolean");
    }
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!SUPPORTED.contains(k) && !ANNOTATIONS.contains(k)) {
        throw new SchemaException(k, at + "/" + escape(k), "not supported by guided decoding."
            + " Supported: " + String.join(", ", new java.util.TreeSet<>(SUPPORTED))
            + "; annotations " + String.join(", ", new java.util.TreeSet<>(ANNOTATIONS)));
      }
    }
    for (String k : List.of("$schema", "$id", "title", "description", "$comment")) {
      if (node.has(k) && !node.get(k).isTextual()) {
        throw new SchemaException(k, at + "/" + k, "must be a string");
      }
    }
    if (node.has("examples") && !node.get("examples").isArray()) {
      throw new SchemaException("examples", at + "/examples", "must be an array");
    }
    for (String defs : List.of("$defs", "definitions")) {
      if (node.has(defs)) {
        JsonNode d = node.get(defs);
        if (!d.isObject()) {
          throw new SchemaException(defs, at + "/" + defs, "must be an object of schemas");
        }
        d.fields().forEachRemaining(e -> {
          String p = at + "/" + defs + "/" + escape(e.getKey());
          byPointer.computeIfAbsent(p, x -> read(e.getValue(), p));
        });
      }
    }
    String ref = null;
    if (node.has("$ref")) {
      ref = text(node, "$ref", at);
      for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
        String k = it.next();
        if (SUPPORTED.contains(k) && !k.equals("$ref") && !k.startsWith("$defs")
            && !k.equals("definitions")) {
          throw new SchemaException(k, at + "/" + escape(k), "keywords next to '$ref' are not"
              + " supported; move them into the referenced schema or wrap both in anyOf");
        }
      }
    }
    if (node.has("anyOf") || node.has("oneOf")) {
      for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
        String k = it.next();
        if (SUPPORTED.contains(k) && !k.equals("anyOf") && !k.equals("oneOf")
            && !NEXT_TO_COMBINATOR.contains(k)) {
          throw new SchemaException(k, at + "/" + escape(k), "only 'type' may stand next to "
              + "anyOf/oneOf; move '" + k + "' into each branch");
        }
      }
      if (node.has("anyOf") && node.has("oneOf")) {
        throw new SchemaException("oneOf", at + "/oneOf",
            "anyOf and oneOf in one schema are not supported; nest one inside the other");
      }
    }
    Integer types = node.has("type") ? types(node.get("type"), at + "/type") : null;
    Map<String, Schema> properties = null;
    if (node.has("properties")) {
      JsonNode p = object(node, "properties", at);
      properties = new LinkedHashMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = p.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        properties.put(e.getKey(),
            read(e.getValue(), at + "/properties/" + escape(e.getKey())));
      }
    }
    List<String> required = null;
    if (node.has("required")) {
      JsonNode r = node.get("required");
      if (!r.isArray()) {
        throw new SchemaException("required", at + "/required", "must be an array of strings");
      }
      required = new ArrayList<>();
      Set<String> seen = new HashSet<>();
      for (JsonNode n : r) {
        if (!n.isTextual() || !seen.add(n.textValue())) {
          throw new SchemaException("required", at + "/required",
              "must be an array of distinct strings");
        }
        required.add(n.textValue());
      }
    }
    Schema additional = node.has("additionalProperties")
        ? read(node.get("additionalProperties"), at + "/additionalProperties") : null;
    List<JsonNode> enumValues = null;
    if (node.has("enum")) {
      JsonNode e = node.get("enum");
      if (!e.isArray() || e.isEmpty()) {
        throw new SchemaException("enum", at + "/enum", "must be a non-empty array");
      }
      enumValues = new ArrayList<>();
      e.forEach(enumValues::add);
    }
    JsonNode constValue = node.has("const") ? node.get("const") : null;
    Schema items = null;
    if (node.has("items")) {
      if (node.get("items").isArray()) {
        throw new SchemaException("items", at + "/items",
            "must be a schema; for a tuple use prefixItems (draft 2020-12)");
      }
      items = read(node.get("items"), at + "/items");
    }
    List<Schema> prefixItems = node.has("prefixItems")
        ? schemas(node, "prefixItems", at) : null;
    Integer minItems = count(node, "minItems", at);
    Integer maxItems = count(node, "maxItems", at);
    Integer minLength = count(node, "minLength", at);
    Integer maxLength = count(node, "maxLength", at);
    BigDecimal minimum = number(node, "minimum", at);
    BigDecimal maximum = number(node, "maximum", at);
    String pattern = null;
    Regex regex = null;
    if (node.has("pattern")) {
      pattern = text(node, "pattern", at);
      try {
        regex = RegexParser.parse(pattern);
      } catch (RegexParser.RegexSyntaxException e) {
        throw new SchemaException("pattern", at + "/pattern",
            "'" + pattern + "' is outside the supported regex subset: " + e.getMessage());
      }
    }
    List<Schema> anyOf = node.has("anyOf") ? schemas(node, "anyOf", at) : null;
    List<Schema> oneOf = node.has("oneOf") ? schemas(node, "oneOf", at) : null;
    unsatisfiable(minItems, maxItems, "minItems", "maxItems", at);
    unsatisfiable(minLength, maxLength, "minLength", "maxLength", at);
    if (minimum != null && maximum != null && minimum.compareTo(maximum) > 0) {
      throw new SchemaException("minimum", at + "/minimum", "unsatisfiable: minimum "
          + minimum.toPlainString() + " is greater than maximum " + maximum.toPlainString());
    }
    return new Schema(at, null, types, properties, required, additional, enumValues,
        constValue, items, prefixItems, minItems, maxItems, minLength, maxLength, minimum,
        maximum, pattern, regex, anyOf, oneOf, ref);
  }

  private static void unsatisfiable(Integer min, Integer max, String minKey, String maxKey,
      String at) {
    if (min != null && max != null && min > max) {
      throw new SchemaException(minKey, at + "/" + minKey, "unsatisfiable: " + minKey + " "
          + min + " is greater than " + maxKey + " " + max);
    }
  }

  private static int types(JsonNode t, String at) {
    List<JsonNode> names = new ArrayList<>();
    if (t.isArray()) {
      t.forEach(names::add);
      if (names.isEmpty()) {
        throw new SchemaException("type", at, "must not be an empty array");
      }
    } else {
      names.add(t);
    }
    int mask = 0;
    Set<String> seen = new HashSet<>();
    for (JsonNode n : names) {
      int bit = n.isTextual() ? JsonType.ofName(n.textValue()) : -1;
      if (bit < 0 || !seen.add(n.textValue())) {
        throw new SchemaException("type", at, "must be one of object, array, string, integer,"
            + " number, boolean, null, or an array of distinct ones; got " + t);
      }
      mask |= bit;
    }
    return mask;
  }

  private List<Schema> schemas(JsonNode node, String key, String at) {
    JsonNode a = node.get(key);
    if (!a.isArray() || a.isEmpty()) {
      throw new SchemaException(key, at + "/" + key, "must be a non-empty array of schemas");
    }
    List<Schema> out = new ArrayList<>();
    for (int i = 0; i < a.size(); i++) {
      out.add(read(a.get(i), at + "/" + key + "/" + i));
    }
    return out;
  }

  private static JsonNode object(JsonNode node, String key, String at) {
    JsonNode v = node.get(key);
    if (!v.isObject()) {
      throw new SchemaException(key, at + "/" + key, "must be an object");
    }
    return v;
  }

  private static String text(JsonNode node, String key, String at) {
    JsonNode v = node.get(key);
    if (!v.isTextual()) {
      throw new SchemaException(key, at + "/" + escape(key), "must be a string");
    }
    return v.textValue();
  }

  private static Integer count(JsonNode node, String key, String at) {
    if (!node.has(key)) {
      return null;
    }
    JsonNode v = node.get(key);
    if (!v.isNumber() || !NumberLanguage.isIntegral(v.decimalValue()) || v.decimalValue()
        .signum() < 0 || v.decimalValue().compareTo(BigDecimal.valueOf(Integer.MAX_VALUE)) > 0) {
      throw new SchemaException(key, at + "/" + key, "must be a non-negative integer");
    }
    return v.decimalValue().intValueExact();
  }

  private static BigDecimal number(JsonNode node, String key, String at) {
    if (!node.has(key)) {
      return null;
    }
    JsonNode v = node.get(key);
    if (!v.isNumber()) {
      throw new SchemaException(key, at + "/" + key, "must be a number");
    }
    return v.decimalValue();
  }

  /** JSON pointer escaping of one segment. */
  static String escape(String segment) {
    return segment.replace("~", "~0").replace("/", "~1");
  }

  /** The keyword a sub-schema belongs to: "properties" for /properties/a, "anyOf" for /anyOf/0. */
  private static String ownerKeyword(String pointer) {
    String[] seg = pointer.split("/");
    if (seg.length < 2) {
      return "schema";
    }
    String last = seg[seg.length - 1];
    String before = seg.length >= 3 ? seg[seg.length - 2] : "";
    if (last.chars().allMatch(Character::isDigit) || before.equals("properties")
        || before.equals("$defs") || before.equals("definitions")) {
      return before;
    }
    return last;
  }
}
