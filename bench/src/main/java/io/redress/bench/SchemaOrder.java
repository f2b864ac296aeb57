package io.redress.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Moves each object's declared properties into schema order, the order our matchers emit
 * (extra properties keep their order, after the declared ones). Follows local {@code $ref}s,
 * {@code allOf}, and of {@code anyOf}/{@code oneOf} the branch declaring most of the
 * instance's keys; never changes a value, only key order.
 */
final class SchemaOrder {

  private static final int MAX_REF_DEPTH = 32;

  private SchemaOrder() {}

  /**
   * @param value a JSON instance
   * @param root the whole schema, which local refs resolve against
   * @return the instance with its keys reordered
   */
  static JsonNode apply(JsonNode value, JsonNode root) {
    return order(value, root, root);
  }

  private static JsonNode order(JsonNode value, JsonNode schema, JsonNode root) {
    if (value.isObject()) {
      List<JsonNode> parts = parts(schema, root, value);
      ObjectNode out = JsonNodeFactory.instance.objectNode();
      Set<String> declared = new LinkedHashSet<>();
      for (JsonNode p : parts) {
        p.path("properties").fieldNames().forEachRemaining(declared::add);
      }
      for (String key : declared) {
        if (value.has(key)) {
          out.set(key, order(value.get(key), propertySchema(parts, key), root));
        }
      }
      value.fields().forEachRemaining(e -> {
        if (!out.has(e.getKey())) {
          out.set(e.getKey(), order(e.getValue(), extraSchema(parts), root));
        }
      });
      return out;
    }
    if (value.isArray()) {
      List<JsonNode> parts = parts(schema, root, value);
      ArrayNode out = JsonNodeFactory.instance.arrayNode();
      for (int i = 0; i < value.size(); i++) {
        out.add(order(value.get(i), itemSchema(parts, i), root));
      }
      return out;
    }
    return value;
  }

  /** The schema objects that apply to a value: itself, its refs, allOf, a chosen branch. */
  private static List<JsonNode> parts(JsonNode schema, JsonNode root, JsonNode value) {
    List<JsonNode> parts = new ArrayList<>();
    collect(schema, root, value, parts, 0);
    return parts;
  }

  private static void collect(JsonNode schema, JsonNode root, JsonNode value,
      List<JsonNode> parts, int depth) {
    if (schema == null || !schema.isObject() || depth > MAX_REF_DEPTH) {
      return;
    }
    parts.add(schema);
    JsonNode ref = schema.get("$ref");
    if (ref != null) {
      collect(resolve(ref, root), root, value, parts, depth + 1);
    }
    for (JsonNode s : schema.path("allOf")) {
      collect(s, root, value, parts, depth + 1);
    }
    for (String alt : List.of("anyOf", "oneOf")) {
      JsonNode best = null;
      int bestScore = -1;
      for (JsonNode s : schema.path(alt)) {
        int score = score(s, root, value);
        if (score > bestScore) {
          best = s;
          bestScore = score;
        }
      }
      collect(best, root, value, parts, depth + 1);
    }
  }

  /** How many of an object's keys a branch declares (after its refs). */
  private static int score(JsonNode branch, JsonNode root, JsonNode value) {
    JsonNode b = branch;
    for (int i = 0; i < MAX_REF_DEPTH && b != null && b.has("$ref"); i++) {
      b = resolve(b.get("$ref"), root);
    }
    if (b == null) {
      return 0;
    }
    int score = 0;
    if (value.isObject()) {
      for (Iterator<String> it = value.fieldNames(); it.hasNext(); ) {
        if (b.path("properties").has(it.next())) {
          score++;
        }
      }
    }
    return score;
  }

  /** A local JSON-pointer ref's target ({@code #} or {@code #/...}); null for others. */
  private static JsonNode resolve(JsonNode ref, JsonNode root) {
    String r = ref.asText();
    if (r.equals("#")) {
      return root;
    }
    if (!r.startsWith("#/")) {
      return null; // anchors and remote refs: leave the order alone
    }
    JsonNode target = root.at(r.substring(1));
    return target.isMissingNode() ? null : target;
  }

  private static JsonNode propertySchema(List<JsonNode> parts, String key) {
    for (JsonNode p : parts) {
      JsonNode s = p.path("properties").get(key);
      if (s != null) {
        return s;
      }
    }
    return null;
  }

  private static JsonNode extraSchema(List<JsonNode> parts) {
    for (JsonNode p : parts) {
      if (p.path("additionalProperties").isObject()) {
        return p.get("additionalProperties");
      }
    }
    return null;
  }

  private static JsonNode itemSchema(List<JsonNode> parts, int i) {
    for (JsonNode p : parts) {
      JsonNode prefix = p.get("prefixItems");
      JsonNode items = p.get("items");
      if (prefix != null && i < prefix.size()) {
        return prefix.get(i);
      }
      if (items != null && items.isArray()) { // draft-07 tuple form
        if (i < items.size()) {
          return items.get(i);
        }
        JsonNode extra = p.get("additionalItems");
        return extra != null && extra.isObject() ? extra : null;
      }
      if (items != null && items.isObject()) {
        return items;
      }
    }
    return null;
  }
}
