package io.redress.inference.guide;

import com.fasterxml.jackson.databind.JsonNode;
import io.redress.inference.guide.Grammar.ArrayNode;
import io.redress.inference.guide.Grammar.LiteralNode;
import io.redress.inference.guide.Grammar.Node;
import io.redress.inference.guide.Grammar.NumberNode;
import io.redress.inference.guide.Grammar.ObjectNode;
import io.redress.inference.guide.Grammar.StringNode;
import io.redress.inference.guide.Grammar.UnionNode;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Compiles {@link Schema}s into a {@link Grammar}. What it generates is a subset of what the
 * schema allows, chosen so output is deterministic where the schema leaves freedom that a model
 * should not use: declared properties in schema order, compact JSON, no extra properties unless
 * {@code additionalProperties} names a schema (or true) or no properties are declared at all,
 * no items beyond {@code prefixItems}
 * unless {@code items} says so, a missing {@code type} read from the keywords present. Every
 * node it returns can produce a finite value; contradictions are {@link SchemaException}s.
 */
final class GrammarBuilder {

  /** The longest extra property name we generate, in code points. */
  static final int MAX_EXTRA_KEY = 256;
  /** patternProperties per object: names fall into one kind per subset of the patterns. */
  static final int MAX_PATTERN_PROPERTIES = 4;

  private final SchemaReader reader;
  private final SchemaChecker strict;
  private final Disjointness disjointness;
  private final List<Node> nodes = new ArrayList<>();
  private final Map<String, Integer> refs = new HashMap<>(); // target pointer | mask -> node
  private final Map<Integer, Integer> anyByMask = new HashMap<>();

  private final boolean openObjects;

  private GrammarBuilder(SchemaReader reader, boolean openObjects) {
    this.reader = reader;
    this.strict = new SchemaChecker(reader, false);
    this.disjointness = new Disjointness(reader);
    this.openObjects = openObjects;
  }

  static Grammar build(SchemaReader reader) {
    return build(reader, false);
  }

  /**
   * @param openObjects absent additionalProperties allows extra members (JSON Schema's own
   *     default) instead of none when properties are declared (ours)
   */
  static Grammar build(SchemaReader reader, boolean openObjects) {
    GrammarBuilder b = new GrammarBuilder(reader, openObjects);
    int root = b.compile(reader.root(), JsonType.ALL);
    if (root < 0) {
      throw new SchemaException("schema", "", "no JSON value satisfies the schema");
    }
    new GrammarChecks(b.nodes, root).run();
    return new Grammar(b.nodes, root);
  }

  /** The node for values of {@code s} whose type is in {@code mask}; -1 if there are none. */
  private int compile(Schema s, int mask) {
    if (s.bool() != null) {
      return s.bool() ? any(mask) : -1;
    }
    if (s.ref() != null) {
      Schema target = reader.resolve(s);
      String key = target.pointer() + "|" + mask;
      Integer known = refs.get(key);
      if (known != null) {
        return known;
      }
      int alias = add(new UnionNode(target.pointer(), new int[0]));
      refs.put(key, alias);
      int id = compile(target, mask);
      if (id < 0) {
        refs.put(key, -1);
        return -1;
      }
      ((UnionNode) nodes.get(alias)).alternatives = new int[] {id};
      return alias;
    }
    // Without "type", JSON Schema lets each keyword constrain only its own type; we read
    // {"properties": ...} as "an object" (what a schema's author means a model to write):
    // untyped schemas accepting every type would make masks far costlier (unions everywhere).
    int own = s.types() != null ? s.types() : s.impliedTypes();
    int allowed = mask & own;
    if (allowed == 0) {
      return -1;
    }
    List<Schema> branches = s.anyOf() != null ? s.anyOf() : s.oneOf();
    if (branches != null) {
      if (s.oneOf() != null) {
        disjointness.requireDisjoint(s, allowed);
      }
      List<Integer> alts = new ArrayList<>();
      for (Schema branch : branches) {
        int id = compile(branch, allowed);
        if (id >= 0) {
          alts.add(id);
        }
      }
      return union(s.pointer(), alts);
    }
    if (s.enumValues() != null || s.constValue() != null) {
      return literals(s, allowed);
    }
    List<Integer> alts = new ArrayList<>();
    if (JsonType.has(allowed, JsonType.OBJECT)) {
      alts.add(object(s));
    }
    if (JsonType.has(allowed, JsonType.ARRAY)) {
      alts.add(array(s));
    }
    if (JsonType.has(allowed, JsonType.STRING)) {
      alts.add(string(s));
    }
    if (JsonType.has(allowed, JsonType.INTEGRAL)) {
      alts.add(number(s, !JsonType.has(allowed, JsonType.FRACTIONAL)));
    }
    List<byte[]> words = new ArrayList<>();
    if (JsonType.has(allowed, JsonType.BOOLEAN)) {
      words.add(bytes("true"));
      words.add(bytes("false"));
    }
    if (JsonType.has(allowed, JsonType.NULL)) {
      words.add(bytes("null"));
    }
    if (s.negation() != null) { // not {enum: [false, null]} and the like
      words.removeIf(w -> s.negation().values().stream()
          .anyMatch(v -> !v.isTextual() && Arrays.equals(canonical(v), w)));
    }
    if (!words.isEmpty()) {
      alts.add(add(new LiteralNode(s.pointer(), LiteralTrie.of(words, new int[words.size()]))));
    }
    return union(s.pointer(), alts);
  }

  private int literals(Schema s, int allowed) {
    String keyword = s.constValue() != null ? "const" : "enum";
    List<JsonNode> values = s.constValue() != null ? List.of(s.constValue()) : s.enumValues();
    List<byte[]> fit = new ArrayList<>();
    boolean anyValid = false;
    for (JsonNode v : values) {
      if (!strict.valid(s, v)) {
        continue;
      }
      anyValid = true;
      int t = JsonType.of(v);
      if ((t & allowed) == t) {
        byte[] b = canonical(v);
        if (fit.stream().noneMatch(x -> Arrays.equals(x, b))) {
          fit.add(b);
        }
      }
    }
    if (!anyValid) {
      throw new SchemaException(keyword, s.at(keyword), "unsatisfiable: no value of " + keyword
          + " meets the schema's other keywords (type, bounds, lengths, pattern, const/enum)");
    }
    if (fit.isEmpty()) {
      return -1;
    }
    return add(new LiteralNode(s.at(keyword), LiteralTrie.of(fit, new int[fit.size()])));
  }

  private int object(Schema s) {
    Map<String, Schema> declared = new LinkedHashMap<>();
    if (s.properties() != null) {
      declared.putAll(s.properties());
    }
    List<String> required = s.required() == null ? List.of() : s.required();
    List<String> absent = s.negation() == null ? List.of() : s.negation().absentKeys();
    for (String k : absent) {
      if (required.contains(k)) {
        throw new SchemaException("not", s.at("not"), "unsatisfiable: '" + k + "' is required"
            + " and also excluded by not");
      }
    }
    List<Schema.PatternProperty> patterns =
        s.patternProperties() == null ? List.of() : s.patternProperties();
    // Absent additionalProperties: none when properties are declared (the model must not invent
    // keys), any member when there is nothing to follow (a bare {"type": "object"}); with
    // openObjects, any member always, as JSON Schema itself reads it. Names that
    // patternProperties match are not "additional" and stay allowed either way.
    Schema extraSchema = s.additionalProperties() != null
        || (s.properties() != null && !openObjects)
        ? s.additionalProperties() : Schema.bool(s.at("additionalProperties"), true);
    for (String r : required) {
      if (!declared.containsKey(r)) {
        Schema fromPatterns = patternSchema(s, r, patterns);
        Schema value = fromPatterns != null ? fromPatterns : extraSchema;
        if (value != null && value.isFalse() || value == null && fromPatterns == null) {
          throw new SchemaException("required", s.at("required"), "unsatisfiable: '" + r
              + "' is required but not in properties, and additionalProperties is false");
        }
        declared.put(r, value);
      } else if (!patterns.isEmpty()) {
        declared.put(r, withPatterns(s, r, declared.get(r), patterns));
      }
    }
    for (Map.Entry<String, Schema> e : declared.entrySet()) {
      if (!required.contains(e.getKey()) && !patterns.isEmpty()) {
        e.setValue(withPatterns(s, e.getKey(), e.getValue(), patterns));
      }
    }
    absent.forEach(declared::remove);
    List<String> names = new ArrayList<>();
    List<Integer> values = new ArrayList<>();
    List<Boolean> isRequired = new ArrayList<>();
    for (Map.Entry<String, Schema> e : declared.entrySet()) {
      int id = compile(e.getValue(), JsonType.ALL);
      boolean req = required.contains(e.getKey());
      if (id < 0) {
        if (req) {
          throw new SchemaException("required", s.at("required"), "unsatisfiable: required"
              + " property '" + e.getKey() + "' has a schema no value satisfies");
        }
        continue; // an optional property that can never be present
      }
      names.add(e.getKey());
      values.add(id);
      isRequired.add(req);
    }
    List<String> excluded = new ArrayList<>(declared.keySet());
    excluded.addAll(absent);
    List<int[]> extraClasses = extraMembers(s, extraSchema, patterns, excluded);
    int[] extras = extraClasses.stream().mapToInt(c -> c[0]).toArray();
    int[] extraKeys = extraClasses.stream().mapToInt(c -> c[1]).toArray();
    boolean anyExtra = extras.length > 0;
    int n = names.size();
    LiteralTrie[] tries = new LiteralTrie[n + 2];
    boolean[] close = new boolean[n + 2];
    boolean[] extrasOk = new boolean[n + 2];
    boolean[] more = new boolean[n + 2];
    byte[][] keyBytes = new byte[n][];
    for (int j = 0; j < n; j++) {
      byte[] name = CompactJson.string(names.get(j));
      keyBytes[j] = Arrays.copyOf(name, name.length + 1);
      keyBytes[j][name.length] = ':';
    }
    for (int idx = -1; idx <= n; idx++) {
      List<byte[]> keys = new ArrayList<>();
      List<Integer> which = new ArrayList<>();
      for (int j = idx + 1; j < n; j++) {
        keys.add(keyBytes[j]);
        which.add(j);
        if (isRequired.get(j)) {
          break;
        }
      }
      boolean noneRequiredLeft = true;
      for (int j = idx + 1; j < n; j++) {
        noneRequiredLeft &= !isRequired.get(j);
      }
      tries[idx + 1] = LiteralTrie.of(keys, which.stream().mapToInt(Integer::intValue).toArray());
      close[idx + 1] = noneRequiredLeft;
      extrasOk[idx + 1] = anyExtra && noneRequiredLeft;
      more[idx + 1] = !keys.isEmpty() || extrasOk[idx + 1];
    }
    boolean[] req = new boolean[n];
    for (int j = 0; j < n; j++) {
      req[j] = isRequired.get(j);
    }
    return add(new ObjectNode(s.pointer(), names.toArray(new String[0]),
        values.stream().mapToInt(Integer::intValue).toArray(), req, extras, extraKeys, tries,
        close, extrasOk, more, minProperties(s, n, anyExtra, req)));
  }

  /** The schema a declared name must also meet for the patternProperties that find it. */
  private Schema withPatterns(Schema s, String name, Schema own,
      List<Schema.PatternProperty> patterns) {
    Schema p = patternSchema(s, name, patterns);
    return p == null ? own : reader.mergeAll(List.of(own, p), s.pointer(), "patternProperties");
  }

  /** allOf of the patternProperties schemas some regex reading finds the name in; or null. */
  private Schema patternSchema(Schema s, String name, List<Schema.PatternProperty> patterns) {
    List<Schema> parts = new ArrayList<>();
    for (Schema.PatternProperty pp : patterns) {
      if (strict.foundBySome(pp.regex(), "patternProperties", s.at("patternProperties"))
          .accepts(name)) {
        parts.add(pp.schema());
      }
    }
    return parts.isEmpty() ? null : reader.mergeAll(parts, s.pointer(), "patternProperties");
  }

  /**
   * The kinds of members beyond the declared names, as (value node, key node) pairs. Without
   * patternProperties one kind: additionalProperties' schema, any other name. With k patterns,
   * one kind per set of patterns a name matches (2^k at most, empty ones dropped): the name
   * is in every regex of the set by every reading and in no other by any reading (a name that
   * validators would read differently is never written), and the value meets all their
   * schemas, or additionalProperties' for the empty set.
   */
  private List<int[]> extraMembers(Schema s, Schema extraSchema,
      List<Schema.PatternProperty> patterns, List<String> excluded) {
    List<int[]> out = new ArrayList<>();
    if (patterns.isEmpty()) {
      if (extraSchema != null && !extraSchema.isFalse()) {
        int v = compile(extraSchema, JsonType.ALL);
        if (v >= 0) {
          out.add(new int[] {v, extraKeyNode(s.at("additionalProperties"), excluded)});
        }
      }
      return out;
    }
    String at = s.at("patternProperties");
    if (patterns.size() > MAX_PATTERN_PROPERTIES) {
      throw new SchemaException("patternProperties", at, "more than "
          + MAX_PATTERN_PROPERTIES + " patterns in one object are not supported");
    }
    CodePointDfa others = CodePointDfa.excluding(excluded);
    for (int set = 0; set < 1 << patterns.size(); set++) {
      CodePointDfa names = others;
      List<Schema> parts = new ArrayList<>();
      for (int i = 0; i < patterns.size() && !names.isEmpty(); i++) {
        Schema.PatternProperty pp = patterns.get(i);
        if ((set & 1 << i) != 0) {
          names = CodePointDfa.intersect(names, strict.foundByAll(pp.regex(), "patternProperties", at));
          parts.add(pp.schema());
        } else {
          names = CodePointDfa.minus(names, strict.foundBySome(pp.regex(), "patternProperties", at));
        }
      }
      Schema value = set == 0 ? extraSchema
          : reader.mergeAll(parts, s.pointer(), "patternProperties");
      if (names.isEmpty() || value == null || value.isFalse()) {
        continue;
      }
      LengthReach reach = LengthReach.of(names, 0, MAX_EXTRA_KEY);
      if (reach != null && !reach.tabulated()) {
        throw new SchemaException("patternProperties", at, "these patterns are too large to"
            + " compile as property names; simplify them");
      }
      if (reach != null && !reach.ok(names.start, 0)) {
        continue;
      }
      int v = compile(value, JsonType.ALL);
      if (v >= 0) {
        out.add(new int[] {v, add(new StringNode(set == 0 ? s.at("additionalProperties") : at,
            0, MAX_EXTRA_KEY, names, reach, true, false))});
      }
    }
    return out;
  }

  /**
   * minProperties: nothing to track when the required names already make up the count;
   * otherwise the count is checked at '}', which is always reachable only when other members
   * can still be added once the declared ones are written.
   */
  private int minProperties(Schema s, int n, boolean anyExtra, boolean[] required) {
    if (s.minProperties() == null) {
      return 0;
    }
    int r = 0;
    for (boolean b : required) {
      r += b ? 1 : 0;
    }
    if (r >= s.minProperties()) {
      return 0;
    }
    if (!anyExtra) {
      throw new SchemaException("minProperties", s.at("minProperties"), "minProperties above"
          + " the number of required properties is supported only where other members are"
          + " allowed (additionalProperties or patternProperties); make the properties"
          + " required instead");
    }
    return s.minProperties();
  }

  private int array(Schema s) {
    List<Integer> prefix = new ArrayList<>();
    int min = s.minItems() == null ? 0 : s.minItems();
    int max = s.maxItems() == null ? Integer.MAX_VALUE : s.maxItems();
    if (s.prefixItems() != null) {
      for (Schema p : s.prefixItems()) {
        int id = compile(p, JsonType.ALL);
        if (id < 0) {
          max = Math.min(max, prefix.size()); // no value fits this position: the array ends here
          break;
        }
        prefix.add(id);
      }
    }
    int items;
    if (s.items() != null) {
      items = compile(s.items(), JsonType.ALL);
    } else if (s.prefixItems() == null || min > prefix.size() || openObjects) {
      items = any(JsonType.ALL);
    } else {
      items = -1; // prefixItems without items: a closed tuple, as objects are closed by default
    }
    if (items < 0) {
      max = Math.min(max, prefix.size());
    }
    if (min > max) {
      throw new SchemaException("minItems", s.at("minItems"), "unsatisfiable: minItems " + min
          + " but at most " + max + " items can be valid (prefixItems/items/maxItems)");
    }
    return add(new ArrayNode(s.pointer(), prefix.stream().mapToInt(Integer::intValue).toArray(),
        items, min, max));
  }

  private int string(Schema s) {
    int min = s.minLength() == null ? 0 : s.minLength();
    int max = s.maxLength() == null ? Integer.MAX_VALUE : s.maxLength();
    CodePointDfa dfa = null;
    LengthReach reach = null;
    String keyword = s.formatRegex() != null ? "format" : "pattern";
    String what = s.formatRegex() != null && s.patternRegex() != null
        ? "format '" + s.format() + "' and pattern '" + s.pattern() + "'"
        : s.formatRegex() != null ? "format '" + s.format() + "'" : "'" + s.pattern() + "'";
    if (s.patternRegex() != null) {
      dfa = strict.pattern(s);
    }
    if (s.formatRegex() != null) {
      CodePointDfa f = strict.format(s);
      dfa = dfa == null ? f : CodePointDfa.intersect(dfa, f);
    }
    boolean decidedAtClose = false;
    Schema.Negation not = s.negation();
    if (not != null) {
      List<String> values = not.values().stream().filter(JsonNode::isTextual)
          .map(JsonNode::textValue).toList();
      if (!values.isEmpty() || !not.regexes().isEmpty()) {
        keyword = "not";
        what = "the schema's string keywords outside what not excludes";
        // Excluding a few values from a free string leaves it free until the closing quote.
        decidedAtClose = dfa == null && not.regexes().isEmpty() && values.stream()
            .allMatch(v -> v.codePointCount(0, v.length()) < max);
        dfa = CodePointDfa.intersect(dfa != null ? dfa : CodePointDfa.excluding(List.of()),
            CodePointDfa.excluding(values));
        for (Regex r : not.regexes()) {
          dfa = CodePointDfa.minus(dfa, strict.foundBySome(r, "not", s.at("not")));
        }
      }
    }
    if (dfa != null) {
      if (dfa.isEmpty()) {
        throw new SchemaException(keyword, s.at(keyword), "unsatisfiable: no string matches "
            + what);
      }
      reach = LengthReach.of(dfa, min, max);
      if (reach != null && !reach.tabulated()) {
        throw new SchemaException(keyword, s.at(keyword), "this " + keyword + " together with"
            + " minLength/maxLength is too large to compile; lower the lengths or simplify it");
      }
      if (reach != null && !reach.ok(dfa.start, 0)) {
        throw new SchemaException(keyword, s.at(keyword), "unsatisfiable: no string"
            + " matching " + what + " has between " + min + " and "
            + (max == Integer.MAX_VALUE ? "any number of" : String.valueOf(max))
            + " code points");
      }
    }
    return add(new StringNode(s.pointer(), min, max, dfa, reach, false, decidedAtClose));
  }

  private int number(Schema s, boolean integer) {
    BigDecimal min = s.minimum();
    BigDecimal max = s.maximum();
    long[] range = s.format() == null ? null : FormatLanguage.INTEGER_RANGES.get(s.format());
    if (range != null) { // int32/int64: integers within the type's range
      integer = true;
      BigDecimal lo = BigDecimal.valueOf(range[0]);
      BigDecimal hi = BigDecimal.valueOf(range[1]);
      min = min == null || min.compareTo(lo) < 0 ? lo : min;
      max = max == null || max.compareTo(hi) > 0 ? hi : max;
    }
    CodePointDfa dfa = NumberLanguage.build(integer, min, max);
    if (dfa.isEmpty()) {
      String keyword = s.minimum() != null ? "minimum" : "maximum";
      throw new SchemaException(keyword, s.at(keyword), "unsatisfiable: no "
          + (integer ? "integer" : "number") + " lies within minimum/maximum");
    }
    return add(new NumberNode(s.pointer(), dfa));
  }

  /** Any JSON value of the given types (cyclic: containers hold any value). */
  private int any(int mask) {
    Integer known = anyByMask.get(mask);
    if (known != null) {
      return known;
    }
    int all = anyByMask.getOrDefault(JsonType.ALL, -1);
    if (all < 0) {
      all = add(new UnionNode("(any value)", new int[0]));
      anyByMask.put(JsonType.ALL, all);
      Schema plain = Schema.bool("(any value)", true);
      List<Integer> alts = new ArrayList<>();
      int key = extraKeyNode("(any key)", List.of());
      LiteralTrie none = LiteralTrie.of(List.of(), new int[0]);
      alts.add(add(new ObjectNode("(any object)", new String[0], new int[0], new boolean[0],
          new int[] {all}, new int[] {key}, new LiteralTrie[] {none, none},
          new boolean[] {true, true}, new boolean[] {true, true}, new boolean[] {true, true}, 0)));
      alts.add(add(new ArrayNode("(any array)", new int[0], all, 0, Integer.MAX_VALUE)));
      alts.add(add(new StringNode("(any string)", 0, Integer.MAX_VALUE, null, null)));
      alts.add(number(plain, false));
      alts.add(add(new LiteralNode("(any literal)", LiteralTrie.of(
          List.of(bytes("true"), bytes("false"), bytes("null")), new int[3]))));
      ((UnionNode) nodes.get(all)).alternatives = alts.stream().mapToInt(Integer::intValue)
          .toArray();
    }
    if (mask == JsonType.ALL) {
      return all;
    }
    int[] allAlts = ((UnionNode) nodes.get(all)).alternatives;
    List<Integer> alts = new ArrayList<>();
    JsonType[] kinds = {JsonType.OBJECT, JsonType.ARRAY, JsonType.STRING, JsonType.INTEGRAL};
    for (int k = 0; k < kinds.length; k++) {
      if (JsonType.has(mask, kinds[k])) {
        alts.add(kinds[k] == JsonType.INTEGRAL && !JsonType.has(mask, JsonType.FRACTIONAL)
            ? number(Schema.bool("(any integer)", true), true) : allAlts[k]);
      }
    }
    List<byte[]> words = new ArrayList<>();
    if (JsonType.has(mask, JsonType.BOOLEAN)) {
      words.add(bytes("true"));
      words.add(bytes("false"));
    }
    if (JsonType.has(mask, JsonType.NULL)) {
      words.add(bytes("null"));
    }
    if (!words.isEmpty()) {
      alts.add(add(new LiteralNode("(any literal)", LiteralTrie.of(words,
          new int[words.size()]))));
    }
    int id = union("(any value)", alts);
    anyByMask.put(mask, id);
    return id;
  }

  /** Extra keys: any name but the declared ones, at most {@value #MAX_EXTRA_KEY} code points. */
  private int extraKeyNode(String pointer, List<String> declared) {
    CodePointDfa dfa = CodePointDfa.excluding(declared);
    // Past a prefix shorter than the limit some next code point always leaves every declared
    // name behind, so only the closing quote can be refused.
    boolean decidedAtClose = declared.stream()
        .allMatch(n -> n.codePointCount(0, n.length()) < MAX_EXTRA_KEY);
    return add(new StringNode(pointer, 0, MAX_EXTRA_KEY, dfa,
        LengthReach.of(dfa, 0, MAX_EXTRA_KEY), true, decidedAtClose));
  }

  private int union(String pointer, List<Integer> alts) {
    if (alts.isEmpty()) {
      return -1;
    }
    if (alts.size() == 1) {
      return alts.get(0);
    }
    return add(new UnionNode(pointer, alts.stream().mapToInt(Integer::intValue).toArray()));
  }

  private int add(Node node) {
    nodes.add(node);
    return nodes.size() - 1;
  }

  /** A value's compact JSON, as Jackson writes it (the form completeness is defined over). */
  static byte[] canonical(JsonNode v) {
    return CompactJson.bytes(v);
  }

  private static byte[] bytes(String ascii) {
    return ascii.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  }
}
