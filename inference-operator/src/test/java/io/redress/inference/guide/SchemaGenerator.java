package io.redress.inference.guide;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Random schemas over every supported keyword and their nesting: typed scalars with bounds,
 * lengths, patterns, enums and consts; type lists; objects with required/optional properties and
 * each form of additionalProperties; arrays with items, prefixItems and counts; anyOf; oneOf
 * with disjoint branches; $ref into $defs, recursion included. Strings mostly carry a maxLength
 * so that random walks finish.
 */
final class SchemaGenerator {

  private static final JsonNodeFactory F = JsonNodeFactory.instance;
  static final String[] PATTERNS = {
    "^[a-z]{2,6}$", "^\\d{3}-\\d{4}$", "^(foo|bar)+$", "[A-Z]", "^\\w+@\\w+\\.com$", "^.{0,8}$",
    "^[^\"\\\\]*$", "^[\\u00e0-\\u00ff]+$", "^\\S+$", "x|y", "^$", "^a*b?$",
    "^(\\+|-)?\\d+(\\.\\d+)?$", "^[\\u4e00-\\u9fff]{1,4}$", "^(?:[01]\\d|2[0-3]):[0-5]\\d$",
    "^[A-Z][a-z]*( [A-Z][a-z]*)*$", "^[^\\s]{1,5}\\s[^\\s]{1,5}$", "ab+c", "^\\u00e9+", "[😀-😆]"
  };
  private static final String[] NAMES = {"id", "name", "value", "kind", "items", "count", "note",
    "a", "b", "c", "é", "名字", "with space", "q\"uote", "back\\slash", "tab\tname", "x/y", "😀",
    "longer_property_name", "Z"};
  private static final String[] WORDS = {"red", "green", "blue", "北京", "ä", "x\"y", "a\\b",
    "new\nline", "", "😀", "ok", "OK", "/", "é"};

  private final Random rnd;
  private ObjectNode defs;
  private int defCount;

  SchemaGenerator(long seed) {
    this.rnd = new Random(seed);
  }

  /** A whole schema document. */
  ObjectNode document() {
    defs = F.objectNode();
    defCount = 0;
    JsonNode body = schema(0);
    ObjectNode doc = body.isObject() ? ((ObjectNode) body).deepCopy() : F.objectNode();
    if (!body.isObject()) {
      doc.set("anyOf", F.arrayNode().add(body));
    }
    if (rnd.nextInt(6) == 0) {
      // a recursive definition: a tree of bounded fan-out whose recursion is optional
      ObjectNode node = obj();
      ObjectNode props = F.objectNode();
      props.set("v", intSchema());
      props.set("kids", F.objectNode().put("type", "array").put("maxItems", 2)
          .set("items", F.objectNode().put("$ref", "#/$defs/tree")));
      node.set("properties", props);
      node.set("required", F.arrayNode().add("v"));
      node.put("additionalProperties", false);
      defs.set("tree", node);
      if (doc.has("properties")) {
        ((ObjectNode) doc.get("properties")).set("tree", F.objectNode().put("$ref",
            "#/$defs/tree"));
      } else {
        doc = F.objectNode();
        doc.set("anyOf", F.arrayNode().add(body).add(F.objectNode().put("$ref", "#/$defs/tree")));
      }
    }
    if (!defs.isEmpty()) {
      doc.set("$defs", defs);
    }
    return doc;
  }

  private JsonNode schema(int depth) {
    int roll = rnd.nextInt(depth >= 3 ? 8 : 16);
    JsonNode s = switch (roll) {
      case 0, 1 -> stringSchema();
      case 2 -> intSchema();
      case 3 -> numberSchema();
      case 4 -> F.objectNode().put("type", rnd.nextBoolean() ? "boolean" : "null");
      case 5 -> enumSchema();
      case 6 -> typeList();
      case 7 -> constSchema();
      case 8, 9, 10 -> objectSchema(depth);
      case 11, 12 -> arraySchema(depth);
      case 13 -> anyOf(depth);
      case 14 -> oneOf(depth);
      default -> ref(depth);
    };
    if (rnd.nextInt(10) == 0 && s.isObject()) {
      ((ObjectNode) s).put("description", "generated");
    }
    return s;
  }

  private ObjectNode obj() {
    return F.objectNode().put("type", "object");
  }

  private ObjectNode stringSchema() {
    ObjectNode s = F.objectNode().put("type", "string");
    int min = rnd.nextInt(4) == 0 ? rnd.nextInt(4) : 0;
    if (min > 0) {
      s.put("minLength", min);
    }
    if (rnd.nextInt(10) < 8) {
      s.put("maxLength", min + rnd.nextInt(30));
    }
    if (rnd.nextInt(4) == 0) {
      s.put("pattern", PATTERNS[rnd.nextInt(PATTERNS.length)]);
      if (s.has("maxLength") && s.get("maxLength").intValue() < 8) {
        s.put("maxLength", 8 + s.get("maxLength").intValue());
      }
      s.remove("minLength");
    }
    return s;
  }

  private ObjectNode intSchema() {
    ObjectNode s = F.objectNode().put("type", "integer");
    int form = rnd.nextInt(5);
    long lo = rnd.nextInt(3) == 0 ? -rnd.nextInt(2000) : rnd.nextInt(500);
    if (form == 1 || form == 3) {
      s.put("minimum", lo);
    }
    if (form == 2 || form == 3) {
      s.put("maximum", lo + rnd.nextInt(form == 3 ? 3000 : 100) - (form == 2 ? 50 : 0));
    }
    if (form == 4) {
      s.put("minimum", new BigDecimal(lo).add(new BigDecimal("0.5")));
      s.put("maximum", new BigDecimal(lo + 1 + rnd.nextInt(20)).add(new BigDecimal("0.25")));
    }
    return s;
  }

  private ObjectNode numberSchema() {
    ObjectNode s = F.objectNode().put("type", "number");
    int form = rnd.nextInt(4);
    BigDecimal lo = BigDecimal.valueOf(rnd.nextInt(20001) - 10000, rnd.nextInt(4));
    if (form >= 1) {
      s.put("minimum", lo);
    }
    if (form >= 2) {
      s.put("maximum", lo.add(BigDecimal.valueOf(rnd.nextInt(5000), rnd.nextInt(4))));
    }
    if (form == 3) {
      s.remove("minimum");
    }
    return s;
  }

  private ObjectNode enumSchema() {
    ArrayNode values = F.arrayNode();
    int n = 1 + rnd.nextInt(4);
    for (int i = 0; i < n; i++) {
      switch (rnd.nextInt(6)) {
        case 0 -> values.add(rnd.nextInt(100) - 50);
        case 1 -> values.add(BigDecimal.valueOf(rnd.nextInt(1000), 2));
        case 2 -> values.add(rnd.nextBoolean());
        case 3 -> values.addNull();
        default -> values.add(WORDS[rnd.nextInt(WORDS.length)] + i);
      }
    }
    ObjectNode s = F.objectNode();
    if (rnd.nextBoolean()) {
      s.put("type", "string");
      values.add("s" + rnd.nextInt(100));
    }
    s.set("enum", values);
    return s;
  }

  private ObjectNode constSchema() {
    ObjectNode s = F.objectNode();
    switch (rnd.nextInt(4)) {
      case 0 -> s.put("const", WORDS[rnd.nextInt(WORDS.length)]);
      case 1 -> s.put("const", rnd.nextInt(1000) - 500);
      case 2 -> s.set("const", F.objectNode().put("k", "v").set("list",
          F.arrayNode().add(1).add("two").addNull()));
      default -> s.set("const", F.arrayNode().add(true).add(1.5));
    }
    return s;
  }

  private ObjectNode typeList() {
    ObjectNode s = F.objectNode();
    List<String> all = new ArrayList<>(List.of("string", "integer", "number", "boolean", "null"));
    java.util.Collections.shuffle(all, rnd);
    ArrayNode t = F.arrayNode();
    int n = 2 + rnd.nextInt(2);
    for (int i = 0; i < n; i++) {
      t.add(all.get(i));
    }
    s.set("type", t);
    s.put("maxLength", 10 + rnd.nextInt(10));
    if (rnd.nextBoolean()) {
      s.put("minimum", -rnd.nextInt(100));
      s.put("maximum", rnd.nextInt(100));
    }
    return s;
  }

  private ObjectNode objectSchema(int depth) {
    ObjectNode s = F.objectNode();
    if (rnd.nextInt(8) != 0) {
      s.put("type", "object");
    }
    ObjectNode props = F.objectNode();
    ArrayNode required = F.arrayNode();
    int n = rnd.nextInt(5);
    for (int i = 0; i < n; i++) {
      String name = NAMES[rnd.nextInt(NAMES.length)] + (rnd.nextInt(3) == 0 ? "" : "_" + i);
      if (props.has(name)) {
        continue;
      }
      props.set(name, schema(depth + 1));
      if (rnd.nextBoolean()) {
        required.add(name);
      }
    }
    s.set("properties", props);
    if (!required.isEmpty() || rnd.nextBoolean()) {
      s.set("required", required);
    }
    switch (rnd.nextInt(5)) {
      case 0 -> { } // absent: no extra properties are generated
      case 1 -> s.put("additionalProperties", true);
      case 2 -> s.set("additionalProperties", depth >= 2 ? F.objectNode().put("type", "integer")
          : schema(depth + 2));
      default -> s.put("additionalProperties", false);
    }
    return s;
  }

  private ObjectNode arraySchema(int depth) {
    ObjectNode s = F.objectNode().put("type", "array");
    if (rnd.nextInt(4) == 0) {
      ArrayNode prefix = F.arrayNode();
      int n = 1 + rnd.nextInt(3);
      for (int i = 0; i < n; i++) {
        prefix.add(schema(depth + 1));
      }
      s.set("prefixItems", prefix);
      if (rnd.nextBoolean()) {
        s.put("items", false);
      } else if (rnd.nextBoolean()) {
        s.set("items", schema(depth + 1));
      }
      s.put("minItems", rnd.nextInt(n + 1));
    } else {
      s.set("items", schema(depth + 1));
      int min = rnd.nextInt(3);
      if (min > 0) {
        s.put("minItems", min);
      }
      s.put("maxItems", min + rnd.nextInt(4));
    }
    if (!s.has("maxItems")) {
      s.put("maxItems", 5);
    }
    return s;
  }

  private ObjectNode anyOf(int depth) {
    ArrayNode branches = F.arrayNode();
    int n = 2 + rnd.nextInt(2);
    for (int i = 0; i < n; i++) {
      branches.add(schema(depth + 1));
    }
    return F.objectNode().set("anyOf", branches);
  }

  /** Branches made disjoint: distinct types, or objects told apart by a const "kind". */
  private ObjectNode oneOf(int depth) {
    ArrayNode branches = F.arrayNode();
    if (rnd.nextBoolean()) {
      List<String> types = new ArrayList<>(List.of("string", "integer", "boolean", "null",
          "array"));
      java.util.Collections.shuffle(types, rnd);
      for (int i = 0; i < 2 + rnd.nextInt(2); i++) {
        ObjectNode b = switch (types.get(i)) {
          case "string" -> stringSchema();
          case "integer" -> intSchema();
          case "array" -> F.objectNode().put("type", "array").put("maxItems", 2)
              .set("items", stringSchema());
          default -> F.objectNode().put("type", types.get(i));
        };
        branches.add(b);
      }
    } else {
      for (int i = 0; i < 2 + rnd.nextInt(2); i++) {
        ObjectNode b = obj();
        ObjectNode props = F.objectNode();
        props.set("kind", F.objectNode().put("const", "k" + i));
        props.set("data", schema(depth + 2));
        b.set("properties", props);
        b.set("required", F.arrayNode().add("kind"));
        b.put("additionalProperties", false);
        branches.add(b);
      }
    }
    return F.objectNode().set("oneOf", branches);
  }

  private ObjectNode ref(int depth) {
    String name = "d" + defCount++;
    defs.set(name, schema(depth + 1));
    return F.objectNode().put("$ref", "#/$defs/" + name);
  }
}
