package io.redress.inference.guide;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Whether a JSON value is valid for a {@link Schema}, with JSON Schema's own meaning (absent
 * {@code type} allows every type, absent {@code additionalProperties} allows any extra key),
 * leaning strict where validators differ ({@code 1.0} is not an integer). Used at compile time
 * on small values: to keep the {@code enum}/{@code const} values that meet a schema's other
 * keywords, and to prove {@code oneOf} branches disjoint.
 */
final class SchemaChecker {

  private final SchemaReader reader;
  private final boolean lenient;
  private final Map<Schema, CodePointDfa> patterns = new IdentityHashMap<>();
  private final Map<Schema, CodePointDfa> formats = new IdentityHashMap<>();
  private final Map<Regex, CodePointDfa> ours = new IdentityHashMap<>();
  private final Map<Regex, CodePointDfa> wide = new IdentityHashMap<>();

  /**
   * @param lenient false: "valid" means every validator accepts the value (for values we emit);
   *     true: "valid" means some validator might (for overlap checks): patterns match as in
   *     java.util.regex and {@code 1.0} counts as an integer
   */
  SchemaChecker(SchemaReader reader, boolean lenient) {
    this.reader = reader;
    this.lenient = lenient;
  }

  boolean valid(Schema s, JsonNode v) {
    return valid(s, v, 0);
  }

  /** Like {@link #valid} but ignoring {@code enum} and {@code const}. */
  boolean validIgnoringValues(Schema s, JsonNode v) {
    return validKeywords(s, v, 0);
  }

  private boolean valid(Schema s, JsonNode v, int depth) {
    if (depth > 64) {
      return false; // a value that deep never comes from a schema's enum; stay safe
    }
    if (s.bool() != null) {
      return s.bool();
    }
    if (s.ref() != null) {
      return valid(reader.resolve(s), v, depth + 1);
    }
    if (s.enumValues() != null && s.enumValues().stream().noneMatch(e -> same(e, v))) {
      return false;
    }
    if (s.constValue() != null && !same(s.constValue(), v)) {
      return false;
    }
    return validKeywords(s, v, depth);
  }

  private boolean validKeywords(Schema s, JsonNode v, int depth) {
    if (s.bool() != null) {
      return s.bool();
    }
    if (s.ref() != null) {
      return valid(reader.resolve(s), v, depth + 1);
    }
    int t = JsonType.of(v);
    if (s.types() != null && (lenient ? (t & s.types()) == 0 : (t & s.types()) != t)) {
      return false;
    }
    if (s.anyOf() != null && s.anyOf().stream().noneMatch(b -> valid(b, v, depth + 1))) {
      return false;
    }
    if (s.oneOf() != null && s.oneOf().stream().filter(b -> valid(b, v, depth + 1)).count() != 1) {
      return false;
    }
    Schema.Negation not = s.negation();
    if (not != null && !lenient) { // lenient: some validator might accept; exclusions only narrow
      if (not.values().stream().anyMatch(x -> same(x, v))
          || v.isObject() && not.absentKeys().stream().anyMatch(v::has)
          || v.isTextual() && not.regexes().stream().anyMatch(r ->
              foundBySome(r, "not", s.at("not")).accepts(v.textValue()))) {
        return false;
      }
    }
    if (v.isObject()) {
      if (s.required() != null && s.required().stream().anyMatch(k -> !v.has(k))
          || s.minProperties() != null && v.size() < s.minProperties()) {
        return false;
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (!validMember(s, e.getKey(), e.getValue(), depth)) {
          return false;
        }
      }
    } else if (v.isArray()) {
      if (s.minItems() != null && v.size() < s.minItems()
          || s.maxItems() != null && v.size() > s.maxItems()) {
        return false;
      }
      for (int i = 0; i < v.size(); i++) {
        Schema item = s.prefixItems() != null && i < s.prefixItems().size()
            ? s.prefixItems().get(i) : s.items();
        if (item != null && !valid(item, v.get(i), depth + 1)) {
          return false;
        }
      }
    } else if (v.isTextual()) {
      String text = v.textValue();
      int n = text.codePointCount(0, text.length());
      if (s.minLength() != null && n < s.minLength() || s.maxLength() != null
          && n > s.maxLength()) {
        return false;
      }
      if (s.patternRegex() != null && !pattern(s).accepts(text)) {
        return false;
      }
      if (!lenient && s.formatRegex() != null && !format(s).accepts(text)) {
        return false;
      }
    } else if (v.isNumber()) {
      BigDecimal d = v.decimalValue();
      long[] range = s.format() == null ? null : FormatLanguage.INTEGER_RANGES.get(s.format());
      if (!lenient && range != null && (!NumberLanguage.isIntegral(d)
          || d.compareTo(BigDecimal.valueOf(range[0])) < 0
          || d.compareTo(BigDecimal.valueOf(range[1])) > 0)) {
        return false;
      }
      if (s.minimum() != null && d.compareTo(s.minimum()) < 0
          || s.maximum() != null && d.compareTo(s.maximum()) > 0) {
        return false;
      }
    }
    return true;
  }

  /**
   * The pattern's automaton: our generation language when strict, java.util.regex's wider one
   * when lenient (its {@code $} also matches before a final line terminator).
   */
  CodePointDfa pattern(Schema s) {
    return patterns.computeIfAbsent(s, x -> {
      try {
        return CodePointDfa.of(lenient ? javaDollar(x.patternRegex()) : x.patternRegex(), true);
      } catch (CodePointDfa.TooLargeException e) {
        throw new SchemaException("pattern", x.at("pattern"), e.getMessage()
            + "; simplify the pattern");
      }
    });
  }

  /**
   * The format's automaton (our conservative language; only the strict checker asks, the
   * lenient one ignores formats, which over-approximates what validators accept).
   */
  CodePointDfa format(Schema s) {
    return formats.computeIfAbsent(s, x -> {
      try {
        return CodePointDfa.of(x.formatRegex(), true);
      } catch (CodePointDfa.TooLargeException e) {
        throw new SchemaException("format", x.at("format"), e.getMessage());
      }
    });
  }

  /**
   * One member against properties, patternProperties and additionalProperties. Strict: a
   * pattern's schema applies where some reading of the regex finds the name, and
   * additionalProperties where some reading finds none; lenient: java.util.regex's reading.
   */
  private boolean validMember(Schema s, String key, JsonNode value, int depth) {
    Schema p = s.properties() == null ? null : s.properties().get(key);
    if (p != null && !valid(p, value, depth + 1)) {
      return false;
    }
    boolean unmatched = true;
    boolean unmatchedSomewhere = true;
    if (s.patternProperties() != null) {
      String at = s.at("patternProperties");
      for (Schema.PatternProperty pp : s.patternProperties()) {
        boolean some = foundBySome(pp.regex(), "patternProperties", at).accepts(key);
        if (some && !valid(pp.schema(), value, depth + 1)) {
          return false;
        }
        unmatched &= !some;
        unmatchedSomewhere &= !foundByAll(pp.regex(), "patternProperties", at).accepts(key);
      }
    }
    boolean additional = p == null && (lenient ? unmatched : unmatchedSomewhere || unmatched);
    return !additional || s.additionalProperties() == null
        || valid(s.additionalProperties(), value, depth + 1);
  }

  /**
   * The strings every validator finds the regex in (ours: {@code $} only at the very end, a
   * subset of java.util.regex's reading). {@code keyword} names the regex in errors.
   */
  CodePointDfa foundByAll(Regex r, String keyword, String at) {
    return ours.computeIfAbsent(r, x -> search(x, keyword, at));
  }

  /** The strings some validator finds the regex in (java.util.regex's wider {@code $}). */
  CodePointDfa foundBySome(Regex r, String keyword, String at) {
    return wide.computeIfAbsent(r, x -> search(javaDollar(x), keyword, at));
  }

  private static CodePointDfa search(Regex r, String keyword, String at) {
    try {
      return CodePointDfa.of(r, true);
    } catch (CodePointDfa.TooLargeException e) {
      throw new SchemaException(keyword, at, e.getMessage() + "; simplify the pattern");
    }
  }

  /** java.util.regex's {@code $} also matches before a final line terminator. */
  static Regex javaDollar(Regex r) {
    if (r instanceof Regex.End) {
      Regex terminator = Regex.alt(List.of(Regex.literal("\r\n"),
          new Regex.Chars(CodePointSet.of('\n', '\r', 0x85, 0x2028, 0x2029))));
      return Regex.seq(Regex.optional(terminator), r);
    }
    if (r instanceof Regex.Seq s) {
      return new Regex.Seq(s.parts().stream().map(SchemaChecker::javaDollar).toList());
    }
    if (r instanceof Regex.Alt a) {
      return new Regex.Alt(a.alternatives().stream().map(SchemaChecker::javaDollar).toList());
    }
    if (r instanceof Regex.Repeat rep) {
      return new Regex.Repeat(javaDollar(rep.body()), rep.min(), rep.max());
    }
    return r;
  }

  /** JSON equality: numbers by value, everything else structurally. */
  static boolean same(JsonNode a, JsonNode b) {
    if (a.isNumber() && b.isNumber()) {
      return a.decimalValue().compareTo(b.decimalValue()) == 0;
    }
    if (a.isObject() && b.isObject()) {
      if (a.size() != b.size()) {
        return false;
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = a.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (!b.has(e.getKey()) || !same(e.getValue(), b.get(e.getKey()))) {
          return false;
        }
      }
      return true;
    }
    if (a.isArray() && b.isArray()) {
      if (a.size() != b.size()) {
        return false;
      }
      for (int i = 0; i < a.size(); i++) {
        if (!same(a.get(i), b.get(i))) {
          return false;
        }
      }
      return true;
    }
    return a.equals(b);
  }
}
