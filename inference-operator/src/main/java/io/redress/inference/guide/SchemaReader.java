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
 * keyword and its JSON pointer; keywords no draft defines are ignored, as validators do.
 * {@code allOf}, and keywords beside {@code anyOf}/{@code oneOf}/{@code $ref}, are merged into
 * one equivalent schema at read time. {@code $ref} targets (local JSON pointers: {@code #},
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
      "minLength", "maxLength", "minimum", "maximum", "pattern", "format", "anyOf", "oneOf",
      "$ref", "$defs", "definitions", "uniqueItems", "allOf", "additionalItems",
      "patternProperties", "minProperties", "not");
  static final Set<String> ANNOTATIONS = Set.of("$schema", "$id", "title", "description",
      "examples", "default", "$comment", "deprecated", "readOnly", "writeOnly");
  /**
   * Keywords with a meaning for validation in some JSON Schema draft (3 to 2020-12) or in the
   * validators we know (networknt's discriminator, notAllowed), that we do not implement:
   * refused. readOnly/writeOnly stay annotations (networknt asserts them only when configured
   * for requests/responses). Any other
   * keyword is unknown to validators, which ignore it (2020-12 section 6.5: unknown keywords
   * are annotations), and so do we.
   */
  static final Set<String> KNOWN_UNSUPPORTED = Set.of("if", "then", "else",
      "propertyNames", "maxProperties",
      "dependentRequired", "dependentSchemas", "dependencies", "unevaluatedProperties",
      "unevaluatedItems", "contains", "minContains", "maxContains", "multipleOf", "divisibleBy",
      "exclusiveMinimum", "exclusiveMaximum", "$dynamicRef", "$dynamicAnchor",
      "$recursiveRef", "$recursiveAnchor", "$anchor", "$vocabulary", "extends", "disallow",
      "requires", "optional", "contentEncoding", "contentMediaType", "contentSchema",
      "discriminator", "notAllowed");

  private final JsonNode root;
  private final Map<String, Schema> byPointer = new HashMap<>();
  /** Pointers of the allOf schemas being read (merged) now, to refuse recursion into them. */
  private final Set<String> merging = new HashSet<>();
  /** Pointers whose read is under way, and how many merge-time $ref reads are nested. */
  private final Set<String> reading = new HashSet<>();
  private int mergeResolves;
  /** The keyword whose merge is under way (allOf, or anyOf/oneOf with keywords beside it). */
  private String mergeKeyword = "allOf";

  /** Drafts 3 to 7: keywords next to $ref are ignored (2019-09 on: they apply too). */
  private final boolean refAlone;

  private SchemaReader(JsonNode root) {
    this.root = root;
    String draft = root.path("$schema").asText("");
    this.refAlone = draft.matches(".*draft-0[3-7]/schema.*");
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
    if (!pointer.isEmpty() && !pointer.startsWith("/")) {
      throw new SchemaException("$ref", keyword, "'" + ref + "' is not a JSON pointer ('#' or"
          + " '#/...'); plain-name fragments ($anchor, id) are not supported");
    }
    JsonNode target = pointer.isEmpty() ? root : root.at(pointer);
    if (target.isMissingNode()) {
      throw new SchemaException("$ref", keyword, "'" + ref + "' points at nothing in the schema");
    }
    Schema s = read(target, pointer);
    byPointer.put(pointer, s);
    return s;
  }

  private Schema read(JsonNode node, String at) {
    boolean first = reading.add(at);
    try {
      return readNode(node, at);
    } finally {
      if (first) {
        reading.remove(at);
      }
    }
  }

  private Schema readNode(JsonNode node, String at) {
    if (node.isBoolean()) {
      return Schema.bool(at, node.booleanValue());
    }
    if (!node.isObject()) {
      throw new SchemaException(ownerKeyword(at), at, "a schema must be an object or a boolean");
    }
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (KNOWN_UNSUPPORTED.contains(k)) {
        throw new SchemaException(k, at + "/" + escape(k), "not supported by guided decoding."
            + " Supported: " + String.join(", ", new java.util.TreeSet<>(SUPPORTED))
            + " (other keywords unknown to JSON Schema are ignored)"
            + "; annotations " + String.join(", ", new java.util.TreeSet<>(ANNOTATIONS)));
      }
    }
    for (String k : List.of("$schema", "$id", "title", "description", "$comment")) {
      if (node.has(k) && !node.get(k).isTextual()) {
        throw new SchemaException(k, at + "/" + k, "must be a string");
      }
    }
    for (String k : List.of("deprecated", "readOnly", "writeOnly")) {
      if (node.has(k) && !node.get(k).isBoolean()) {
        throw new SchemaException(k, at + "/" + k, "must be a boolean");
      }
    }
    for (String k : List.of("$id", "id")) { // "id": draft 4's $id
      if (!at.isEmpty() && node.has(k) && node.get(k).isTextual()
          && !node.get(k).textValue().startsWith("#") && containsRef(node)) {
        // an embedded resource: its "#/..." references would resolve against it, not the root
        throw new SchemaException(k, at + "/" + k, "a '" + k + "' below the root with '$ref'"
            + " inside it (an embedded schema resource) is not supported");
      }
    }
    if (node.has("uniqueItems") && !(node.get("uniqueItems").isBoolean()
        && !node.get("uniqueItems").booleanValue())) {
      throw new SchemaException("uniqueItems", at + "/uniqueItems", "not supported by guided"
          + " decoding (only 'uniqueItems': false, which constrains nothing)");
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
          if (!byPointer.containsKey(p)) { // not computeIfAbsent: read() adds nested defs
            Schema def = read(e.getValue(), p);
            byPointer.putIfAbsent(p, def);
          }
        });
      }
    }
    String ref = null;
    boolean besideRef = false;
    if (node.has("$ref")) {
      ref = text(node, "$ref", at);
      if (refAlone) {
        return new Schema(at, null, null, null, null, null, null, null, null, null, null, null,
            null, null, null, null, null, null, null, null, null, null, ref, null, null, null);
      }
      for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
        String k = it.next();
        // 2019-09 on (and without $schema): keywords next to $ref apply too (merged below)
        besideRef |= SUPPORTED.contains(k) && !k.equals("$ref") && !k.startsWith("$defs")
            && !k.equals("definitions");
      }
    }
    if (node.has("anyOf") || node.has("oneOf")) {
      // other keywords next to anyOf/oneOf are merged into each branch (see the end)
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
    List<Schema> prefixItems = node.has("prefixItems")
        ? schemas(node, "prefixItems", at) : null;
    if (node.has("items") && node.get("items").isArray()) {
      // Drafts 4-2019: an items array is a tuple (2020-12's prefixItems) and additionalItems
      // is then what 2020-12 calls items; next to a schema-valued items it does nothing.
      if (prefixItems != null) {
        throw new SchemaException("items", at + "/items",
            "an items array (a tuple, drafts 4 to 2019-09) next to prefixItems is ambiguous;"
            + " use one of them");
      }
      prefixItems = schemas(node, "items", at);
      if (node.has("additionalItems")) {
        items = read(node.get("additionalItems"), at + "/additionalItems");
      }
    } else if (node.has("items")) {
      items = read(node.get("items"), at + "/items");
    }
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
    String format = null;
    Regex formatRegex = null;
    if (node.has("format")) {
      String f = text(node, "format", at);
      if (FormatLanguage.knownUnsupported(f)) {
        throw new SchemaException("format", at + "/format", "format '" + f + "' is not supported"
            + " by guided decoding. Supported formats: "
            + String.join(", ", new java.util.TreeSet<>(FormatLanguage.REGEXES.keySet()))
            + ", int32, int64; unknown format names are ignored");
      }
      if (FormatLanguage.supported(f) || FormatLanguage.INTEGER_RANGES.containsKey(f)) {
        format = f;
        try {
          formatRegex = FormatLanguage.regex(f);
        } catch (RegexParser.RegexSyntaxException e) {
          throw new IllegalStateException("format regex for " + f, e);
        }
      }
    }
    List<Schema> anyOf = node.has("anyOf") ? schemas(node, "anyOf", at) : null;
    List<Schema> oneOf = node.has("oneOf") ? schemas(node, "oneOf", at) : null;
    List<Schema.PatternProperty> patternProperties = null;
    if (node.has("patternProperties")) {
      patternProperties = new ArrayList<>();
      for (Iterator<Map.Entry<String, JsonNode>> it =
          object(node, "patternProperties", at).fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        String where = at + "/patternProperties/" + escape(e.getKey());
        Regex r;
        try {
          r = RegexParser.parse(e.getKey());
        } catch (RegexParser.RegexSyntaxException ex) {
          throw new SchemaException("patternProperties", where, "'" + e.getKey()
              + "' is outside the supported regex subset: " + ex.getMessage());
        }
        patternProperties.add(new Schema.PatternProperty(e.getKey(), r, read(e.getValue(),
            where)));
      }
    }
    Integer minProperties = count(node, "minProperties", at);
    Schema.Negation negation = null;
    if (node.has("not")) {
      JsonNode n = node.get("not");
      if (n.isBoolean() && n.booleanValue() || n.isObject() && meaningful(n).isEmpty()) {
        return Schema.bool(at, false); // not {} and not true: no value
      }
      if (n.isObject() && meaningful(n).equals(Set.of("type"))) {
        // not {type: T}: the other types
        types = (types == null ? JsonType.ALL : types) & ~types(n.get("type"), at + "/not/type");
      } else if (!n.isBoolean()) {
        negation = negation(n, at + "/not");
      }
    }
    unsatisfiable(minItems, maxItems, "minItems", "maxItems", at);
    unsatisfiable(minLength, maxLength, "minLength", "maxLength", at);
    if (minimum != null && maximum != null && minimum.compareTo(maximum) > 0) {
      throw new SchemaException("minimum", at + "/minimum", "unsatisfiable: minimum "
          + minimum.toPlainString() + " is greater than maximum " + maximum.toPlainString());
    }
    boolean besideCombinator = (anyOf != null || oneOf != null)
        && (properties != null || required != null || additional != null || enumValues != null
        || constValue != null || items != null || prefixItems != null || minItems != null
        || maxItems != null || minLength != null || maxLength != null || minimum != null
        || maximum != null || pattern != null || format != null || patternProperties != null
        || minProperties != null || negation != null);
    String ownRef = besideRef ? null : ref;
    Schema own = besideCombinator
        // {"anyOf": [Ai], K...} == {"anyOf": [Ai and K...]}: merged below
        ? new Schema(at, null, types, properties, required, additional, enumValues,
            constValue, items, prefixItems, minItems, maxItems, minLength, maxLength, minimum,
            maximum, pattern, regex, format, formatRegex, null, null, ownRef, patternProperties,
            minProperties, negation)
        : new Schema(at, null, types, properties, required, additional, enumValues,
            constValue, items, prefixItems, minItems, maxItems, minLength, maxLength, minimum,
            maximum, pattern, regex, format, formatRegex, anyOf, oneOf, ownRef,
            patternProperties, minProperties, negation);
    if (!node.has("allOf") && !besideCombinator && !besideRef) {
      return own;
    }
    List<Schema> parts = new ArrayList<>();
    if (besideRef) {
      parts.add(new Schema(at, null, null, null, null, null, null, null, null, null, null, null,
          null, null, null, null, null, null, null, null, null, null, ref, null, null, null));
    }
    if (besideCombinator) {
      parts.add(new Schema(at, null, null, null, null, null, null, null, null, null, null, null,
          null, null, null, null, null, null, null, null, anyOf, oneOf, null, null, null, null));
    }
    if (node.has("allOf")) {
      parts.addAll(schemas(node, "allOf", at));
    }
    merging.add(at);
    String outerKeyword = mergeKeyword;
    mergeKeyword = node.has("allOf") ? "allOf" : besideRef ? "$ref"
        : anyOf != null ? "anyOf" : "oneOf";
    try {
      Schema merged = own;
      for (Schema part : parts) {
        merged = merge(merged, part, at, 0);
      }
      return merged;
    } finally {
      merging.remove(at);
      mergeKeyword = outerKeyword;
    }
  }

  /**
   * One schema equivalent to both (for {@code allOf}): every value valid for the result is valid
   * for {@code a} and {@code b} and back. Where we cannot express the conjunction exactly (two
   * patterns, anyOf/oneOf on both sides, a recursive reference into the allOf being read) it is
   * a {@link SchemaException} on allOf.
   */
  private Schema merge(Schema a, Schema b, String at, int depth) {
    if (depth > 32) {
      throw new SchemaException(mergeKeyword, at + "/" + mergeKeyword, "the allOf branches nest too deeply to"
          + " merge");
    }
    if (a == b) {
      return a;
    }
    if (a.ref() != null && b.ref() != null && a.ref().equals(b.ref())) {
      return a;
    }
    a = resolveForMerge(a, at);
    b = resolveForMerge(b, at);
    if (a == b || b.isTrue()) {
      return a;
    }
    if (a.isTrue()) {
      return b;
    }
    if (a.isFalse() || b.isFalse()) {
      return Schema.bool(at, false);
    }
    List<Schema> branchesA = a.anyOf() != null ? a.anyOf() : a.oneOf();
    List<Schema> branchesB = b.anyOf() != null ? b.anyOf() : b.oneOf();
    if (branchesA != null && branchesB != null) {
      throw new SchemaException(mergeKeyword, at + "/" + mergeKeyword, "more than one anyOf/oneOf among the"
          + " allOf branches is not supported");
    }
    boolean branchesFirst = branchesB == null; // properties keep the order they were written in
    if (branchesB != null) {
      Schema t = a;
      a = b;
      b = t;
      branchesA = branchesB;
    }
    Integer types = a.types() == null ? b.types() : b.types() == null ? a.types()
        : Integer.valueOf(a.types() & b.types());
    if (branchesA != null) {
      // (anyOf/oneOf of Ai, next to types only) and B == anyOf/oneOf of (Ai and B)
      List<Schema> merged = new ArrayList<>();
      for (Schema branch : branchesA) {
        merged.add(branchesFirst ? merge(branch, b, at, depth + 1)
            : merge(b, branch, at, depth + 1));
      }
      boolean one = a.oneOf() != null;
      return new Schema(at, null, types, null, null, null, null, null, null, null, null, null,
          null, null, null, null, null, null, null, null, one ? null : merged,
          one ? merged : null, null, null, null, null);
    }
    if (a.patternProperties() != null && hasObjectMembers(b)
        || b.patternProperties() != null && hasObjectMembers(a)) {
      throw new SchemaException(mergeKeyword, at + "/" + mergeKeyword, "patternProperties in one"
          + " branch and properties, additionalProperties or patternProperties in another are"
          + " not supported; move them into one schema");
    }
    List<Schema.PatternProperty> patternProperties = a.patternProperties() != null
        ? a.patternProperties() : b.patternProperties();
    Integer minProperties = maxOf(a.minProperties(), b.minProperties());
    Schema.Negation negation = a.negation() == null ? b.negation() : a.negation().plus(b.negation());
    Map<String, Schema> properties = null;
    if (a.properties() != null || b.properties() != null) {
      properties = new LinkedHashMap<>();
      Map<String, Schema> pa = a.properties() == null ? Map.of() : a.properties();
      Map<String, Schema> pb = b.properties() == null ? Map.of() : b.properties();
      for (Map.Entry<String, Schema> e : pa.entrySet()) {
        Schema other = pb.containsKey(e.getKey()) ? pb.get(e.getKey()) : b.additionalProperties();
        properties.put(e.getKey(), other == null ? e.getValue()
            : merge(e.getValue(), other, at, depth + 1));
      }
      for (Map.Entry<String, Schema> e : pb.entrySet()) {
        if (!pa.containsKey(e.getKey())) {
          Schema other = a.additionalProperties();
          properties.put(e.getKey(), other == null ? e.getValue()
              : merge(other, e.getValue(), at, depth + 1));
        }
      }
    }
    List<String> required = null;
    if (a.required() != null || b.required() != null) {
      Set<String> r = new java.util.LinkedHashSet<>();
      if (a.required() != null) {
        r.addAll(a.required());
      }
      if (b.required() != null) {
        r.addAll(b.required());
      }
      required = new ArrayList<>(r);
    }
    Schema additional = mergeOptional(a.additionalProperties(), b.additionalProperties(), at,
        depth);
    List<JsonNode> enumValues = a.enumValues();
    List<JsonNode> enumB = b.enumValues();
    if (enumB != null) {
      enumValues = enumValues == null ? enumB : enumValues.stream()
          .filter(v -> enumB.stream().anyMatch(w -> SchemaChecker.same(v, w))).toList();
      if (enumValues.isEmpty()) {
        throw new SchemaException(mergeKeyword, at + "/" + mergeKeyword, "unsatisfiable: the branches' enum"
            + " values have none in common");
      }
    }
    JsonNode constValue = a.constValue();
    if (b.constValue() != null) {
      if (constValue != null && !SchemaChecker.same(constValue, b.constValue())) {
        throw new SchemaException(mergeKeyword, at + "/" + mergeKeyword, "unsatisfiable: the branches' const"
            + " values differ");
      }
      constValue = b.constValue();
    }
    List<Schema> prefixItems = null;
    if (a.prefixItems() != null || b.prefixItems() != null) {
      int n = Math.max(a.prefixItems() == null ? 0 : a.prefixItems().size(),
          b.prefixItems() == null ? 0 : b.prefixItems().size());
      prefixItems = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        Schema x = mergeOptional(item(a, i), item(b, i), at, depth);
        prefixItems.add(x == null ? Schema.bool(at, true) : x);
      }
    }
    Schema items = mergeOptional(a.items(), b.items(), at, depth);
    String pattern = a.pattern();
    Regex regex = a.patternRegex();
    if (b.pattern() != null) {
      if (pattern != null && !pattern.equals(b.pattern())) {
        throw new SchemaException(mergeKeyword, at + "/" + mergeKeyword, "two different patterns among the"
            + " allOf branches are not supported; combine them into one");
      }
      pattern = b.pattern();
      regex = b.patternRegex();
    }
    String format = a.format();
    Regex formatRegex = a.formatRegex();
    if (b.format() != null) {
      if (format != null && !format.equals(b.format())) {
        throw new SchemaException(mergeKeyword, at + "/" + mergeKeyword, "two different formats among the"
            + " allOf branches are not supported");
      }
      format = b.format();
      formatRegex = b.formatRegex();
    }
    Integer minItems = maxOf(a.minItems(), b.minItems());
    Integer maxItems = minOf(a.maxItems(), b.maxItems());
    Integer minLength = maxOf(a.minLength(), b.minLength());
    Integer maxLength = minOf(a.maxLength(), b.maxLength());
    BigDecimal minimum = a.minimum() == null ? b.minimum() : b.minimum() == null ? a.minimum()
        : a.minimum().max(b.minimum());
    BigDecimal maximum = a.maximum() == null ? b.maximum() : b.maximum() == null ? a.maximum()
        : a.maximum().min(b.maximum());
    String where = at + "/" + mergeKeyword;
    if (minItems != null && maxItems != null && minItems > maxItems
        || minLength != null && maxLength != null && minLength > maxLength
        || minimum != null && maximum != null && minimum.compareTo(maximum) > 0) {
      throw new SchemaException(mergeKeyword, where, "unsatisfiable: the branches' bounds"
          + " (minItems/maxItems, minLength/maxLength or minimum/maximum) exclude each other");
    }
    return new Schema(at, null, types, properties, required, additional, enumValues,
        constValue, items, prefixItems, minItems, maxItems, minLength, maxLength, minimum,
        maximum, pattern, regex, format, formatRegex, null, null, null, patternProperties,
        minProperties, negation);
  }

  private static boolean hasObjectMembers(Schema s) {
    return s.properties() != null || s.additionalProperties() != null
        || s.patternProperties() != null;
  }

  /** Keywords of a {@code not} schema other than annotations. */
  private static Set<String> meaningful(JsonNode n) {
    Set<String> keys = new java.util.TreeSet<>();
    n.fieldNames().forEachRemaining(k -> {
      if (!ANNOTATIONS.contains(k) && (SUPPORTED.contains(k) || KNOWN_UNSUPPORTED.contains(k))) {
        keys.add(k);
      }
    });
    return keys;
  }

  /**
   * The exclusions a {@code not} schema states (see {@link Schema.Negation}); any other form
   * of {@code not} is refused: a general complement is not a language we can build.
   */
  private Schema.Negation negation(JsonNode n, String at) {
    Set<String> keys = meaningful(n);
    List<String> absent = new ArrayList<>();
    List<JsonNode> values = new ArrayList<>();
    List<String> patterns = new ArrayList<>();
    List<Regex> regexes = new ArrayList<>();
    if (keys.equals(Set.of("required")) && n.get("required").isArray()
        && n.get("required").size() == 1 && n.get("required").get(0).isTextual()) {
      absent.add(n.get("required").get(0).textValue());
    } else if (keys.equals(Set.of("anyOf")) && n.get("anyOf").isArray()
        && !n.get("anyOf").isEmpty() && allSingleRequired(n.get("anyOf"))) {
      n.get("anyOf").forEach(b -> absent.add(b.get("required").get(0).textValue()));
    } else if (!keys.isEmpty() && Set.of("enum", "const").containsAll(keys)) {
      if (n.has("enum") && n.get("enum").isArray()) {
        n.get("enum").forEach(values::add);
      } else if (n.has("enum")) {
        throw new SchemaException("enum", at + "/enum", "must be a non-empty array");
      }
      if (n.has("const")) {
        values.add(n.get("const"));
      }
      for (JsonNode v : values) {
        if (!(v.isTextual() || v.isBoolean() || v.isNull())) {
          // 1 and 1.0 are one value to a validator but two spellings to us
          throw new SchemaException("not", at, "not with enum/const is supported for strings,"
              + " booleans and null, not for " + v.getNodeType().name().toLowerCase() + " values");
        }
      }
    } else if (keys.equals(Set.of("pattern")) || keys.equals(Set.of("pattern", "type"))
        && n.get("type").isTextual() && n.get("type").textValue().equals("string")) {
      String p = text(n, "pattern", at);
      try {
        regexes.add(RegexParser.parse(p));
      } catch (RegexParser.RegexSyntaxException e) {
        throw new SchemaException("not", at + "/pattern", "'" + p + "' is outside the supported"
            + " regex subset: " + e.getMessage());
      }
      patterns.add(p);
    } else {
      throw new SchemaException("not", at, "this form of not is not supported by guided"
          + " decoding; supported: not {}, not {type}, not {required: [one name]}, not {anyOf:"
          + " [{required: [name]}, ...]}, not {enum/const} of strings, booleans or null,"
          + " not {pattern}");
    }
    return new Schema.Negation(List.copyOf(absent), List.copyOf(values), List.copyOf(patterns),
        List.copyOf(regexes));
  }

  private static boolean allSingleRequired(JsonNode branches) {
    for (JsonNode b : branches) {
      if (!b.isObject() || !meaningful(b).equals(Set.of("required")) || !b.get("required").isArray()
          || b.get("required").size() != 1 || !b.get("required").get(0).isTextual()) {
        return false;
      }
    }
    return true;
  }

  /** All of {@code parts} at once (they apply together, e.g. matching patternProperties). */
  Schema mergeAll(List<Schema> parts, String at, String keyword) {
    String outer = mergeKeyword;
    mergeKeyword = keyword;
    try {
      Schema merged = parts.get(0);
      for (int i = 1; i < parts.size(); i++) {
        merged = merge(merged, parts.get(i), at, 0);
      }
      return merged;
    } finally {
      mergeKeyword = outer;
    }
  }

  private Schema mergeOptional(Schema a, Schema b, String at, int depth) {
    return a == null ? b : b == null ? a : merge(a, b, at, depth + 1);
  }

  /** The schema for position i of an array under s: a prefixItems entry or items (or null). */
  private static Schema item(Schema s, int i) {
    return s.prefixItems() != null && i < s.prefixItems().size() ? s.prefixItems().get(i)
        : s.items();
  }

  private static Integer maxOf(Integer x, Integer y) {
    return x == null ? y : y == null ? x : Integer.valueOf(Math.max(x, y));
  }

  private static Integer minOf(Integer x, Integer y) {
    return x == null ? y : y == null ? x : Integer.valueOf(Math.min(x, y));
  }

  /** Follows $refs for merging, refusing a reference back into an allOf still being read. */
  private Schema resolveForMerge(Schema s, String at) {
    for (int hops = 0; s.ref() != null; hops++) {
      String ref = s.ref();
      String pointer = ref.startsWith("#")
          ? URLDecoder.decode(ref.substring(1), StandardCharsets.UTF_8) : ref;
      if (merging.contains(pointer) || reading.contains(pointer) || hops > 64
          || mergeResolves >= 16) {
        throw new SchemaException(mergeKeyword, at + "/" + mergeKeyword, "a $ref inside allOf that leads back"
            + " to a schema still being read (recursion through allOf) is not supported");
      }
      mergeResolves++;
      try {
        s = resolve(s);
      } finally {
        mergeResolves--;
      }
    }
    return s;
  }

  /** Whether a schema object has a {@code $ref} anywhere inside it. */
  private static boolean containsRef(JsonNode node) {
    if (node.isObject() && node.has("$ref")) {
      return true;
    }
    for (JsonNode child : node) {
      if (child.isContainerNode() && containsRef(child)) {
        return true;
      }
    }
    return false;
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
