package io.redress.inference.guide;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Proves {@code oneOf} branches disjoint: no value is valid for two of them, so a value we
 * generate from one branch matches exactly one. Reasons with JSON Schema's full meaning (not our
 * stricter generation subset) and answers "disjoint" only with a proof: different types, values
 * of an enum that the other branch rejects, a required property with disjoint schemas, disjoint
 * numeric ranges, lengths or patterns, array sizes or item schemas.
 */
final class Disjointness {

  private static final int MAX_DEPTH = 8;

  private final SchemaReader reader;
  private final SchemaChecker lenient;

  Disjointness(SchemaReader reader) {
    this.reader = reader;
    this.lenient = new SchemaChecker(reader, true);
  }

  /** Throws unless the branches of {@code owner.oneOf} are pairwise disjoint within the mask. */
  void requireDisjoint(Schema owner, int mask) {
    List<Schema> branches = owner.oneOf();
    for (int i = 0; i < branches.size(); i++) {
      for (int j = i + 1; j < branches.size(); j++) {
        if (!disjoint(branches.get(i), branches.get(j), mask, 0)) {
          throw new SchemaException("oneOf", owner.at("oneOf"), "branches " + i + " and " + j
              + " may both match one value, and oneOf needs exactly one; make them disjoint"
              + " (different types, a required property with different const values,"
              + " non-overlapping ranges) or use anyOf");
        }
      }
    }
  }

  boolean disjoint(Schema a, Schema b, int mask, int depth) {
    if (depth > MAX_DEPTH) {
      return false;
    }
    while (a.ref() != null) {
      a = reader.resolve(a);
    }
    while (b.ref() != null) {
      b = reader.resolve(b);
    }
    int ta = types(a) & mask;
    int tb = types(b) & mask;
    if ((ta & tb) == 0) {
      return true;
    }
    if (a.bool() != null || b.bool() != null) {
      return false; // true vs a schema with common types
    }
    List<JsonNode> va = values(a);
    if (va != null) {
      final Schema other = b;
      final Schema self = a;
      return va.stream().noneMatch(v -> (JsonType.of(v) & mask) != 0 && lenient.valid(self, v)
          && lenient.valid(other, v));
    }
    List<JsonNode> vb = values(b);
    if (vb != null) {
      return disjoint(b, a, mask, depth);
    }
    int inner = mask & (a.types() == null ? JsonType.ALL : a.types());
    List<Schema> branches = a.anyOf() != null ? a.anyOf() : a.oneOf();
    if (branches != null) {
      for (Schema branch : branches) {
        if (!disjoint(branch, b, inner, depth + 1)) {
          return false;
        }
      }
      return true;
    }
    if (b.anyOf() != null || b.oneOf() != null) {
      return disjoint(b, a, mask, depth);
    }
    int common = ta & tb;
    if (JsonType.has(common, JsonType.OBJECT) && !objectsDisjoint(a, b, depth)
        || JsonType.has(common, JsonType.ARRAY) && !arraysDisjoint(a, b, depth)
        || JsonType.has(common, JsonType.STRING) && !stringsDisjoint(a, b)
        || JsonType.has(common, JsonType.INTEGRAL) && !rangesDisjoint(a, b, true)
        || JsonType.has(common, JsonType.FRACTIONAL) && !rangesDisjoint(a, b, false)
        || JsonType.has(common, JsonType.BOOLEAN) || JsonType.has(common, JsonType.NULL)) {
      return false;
    }
    return true;
  }

  /** The types a schema's valid values can have (over-approximated). */
  private int types(Schema s) {
    if (s.bool() != null) {
      return s.bool() ? JsonType.ALL : 0;
    }
    int t = s.types() == null ? JsonType.ALL : s.types();
    List<JsonNode> values = values(s);
    if (values != null) {
      int v = 0;
      for (JsonNode n : values) {
        v |= JsonType.of(n);
      }
      t &= v;
    }
    return t;
  }

  private static List<JsonNode> values(Schema s) {
    if (s.constValue() != null) {
      return List.of(s.constValue());
    }
    return s.enumValues();
  }

  private boolean objectsDisjoint(Schema a, Schema b, int depth) {
    Set<String> names = new LinkedHashSet<>();
    if (a.required() != null) {
      names.addAll(a.required());
    }
    if (b.required() != null) {
      names.addAll(b.required());
    }
    for (String name : names) {
      if (disjoint(property(a, name), property(b, name), JsonType.ALL, depth + 1)) {
        return true;
      }
    }
    return false;
  }

  private static Schema property(Schema s, String name) {
    if (s.properties() != null && s.properties().containsKey(name)) {
      return s.properties().get(name);
    }
    // A name patternProperties may match is not under additionalProperties: assume anything.
    return s.additionalProperties() != null && s.patternProperties() == null
        ? s.additionalProperties() : Schema.bool("", true);
  }

  private boolean arraysDisjoint(Schema a, Schema b, int depth) {
    int minA = a.minItems() == null ? 0 : a.minItems();
    int minB = b.minItems() == null ? 0 : b.minItems();
    int maxA = a.maxItems() == null ? Integer.MAX_VALUE : a.maxItems();
    int maxB = b.maxItems() == null ? Integer.MAX_VALUE : b.maxItems();
    if (minA > maxB || minB > maxA) {
      return true;
    }
    for (int i = 0; i < Math.min(Math.max(minA, minB), 16); i++) {
      if (disjoint(item(a, i), item(b, i), JsonType.ALL, depth + 1)) {
        return true;
      }
    }
    return false;
  }

  private static Schema item(Schema s, int i) {
    if (s.prefixItems() != null && i < s.prefixItems().size()) {
      return s.prefixItems().get(i);
    }
    return s.items() != null ? s.items() : Schema.bool("", true);
  }

  private boolean stringsDisjoint(Schema a, Schema b) {
    int minA = a.minLength() == null ? 0 : a.minLength();
    int minB = b.minLength() == null ? 0 : b.minLength();
    int maxA = a.maxLength() == null ? Integer.MAX_VALUE : a.maxLength();
    int maxB = b.maxLength() == null ? Integer.MAX_VALUE : b.maxLength();
    if (minA > maxB || minB > maxA) {
      return true;
    }
    if (a.patternRegex() == null || b.patternRegex() == null) {
      return false;
    }
    return CodePointDfa.intersect(lenient.pattern(a), lenient.pattern(b)).isEmpty();
  }

  private static boolean rangesDisjoint(Schema a, Schema b, boolean integral) {
    BigDecimal loA = bound(a.minimum(), integral, RoundingMode.CEILING);
    BigDecimal hiA = bound(a.maximum(), integral, RoundingMode.FLOOR);
    BigDecimal loB = bound(b.minimum(), integral, RoundingMode.CEILING);
    BigDecimal hiB = bound(b.maximum(), integral, RoundingMode.FLOOR);
    return loA != null && hiB != null && loA.compareTo(hiB) > 0
        || loB != null && hiA != null && loB.compareTo(hiA) > 0;
  }

  private static BigDecimal bound(BigDecimal v, boolean integral, RoundingMode mode) {
    return v == null || !integral ? v : v.setScale(0, mode);
  }
}
