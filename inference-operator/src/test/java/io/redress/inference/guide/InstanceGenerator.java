package io.redress.inference.guide;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.util.RawValue;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Random valid instances of a schema, built from the schema's JSON directly (not from our
 * automaton), in the form guided decoding promises to accept: compact, declared properties in
 * schema order then extra ones, numbers as {@link NumberLanguage} documents, strings with any
 * Unicode (NFC, so the tokenizer's normalizer keeps the bytes). Callers still check each
 * instance with the validator: a value the generator gets wrong is discarded, not trusted.
 */
final class InstanceGenerator {

  static final ObjectMapper WRITER = JsonMapper.builder()
      .enable(StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN).build();
  private static final JsonNodeFactory F = JsonNodeFactory.instance;
  private static final Set<String> ALL = Set.of("object", "array", "string", "integer", "number",
      "boolean", "null");

  /** The schema cannot produce a value along the path taken. */
  static final class Unsatisfied extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Unsatisfied() {
      super(null, null, false, false);
    }
  }

  private final JsonNode root;
  private final Random rnd;

  InstanceGenerator(JsonNode root, long seed) {
    this.root = root;
    this.rnd = new Random(seed);
  }

  /** The compact bytes of a random instance, or null when this attempt found none. */
  byte[] next() {
    try {
      return WRITER.writeValueAsBytes(value(root, ALL, 0));
    } catch (Unsatisfied e) {
      return null;
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  private JsonNode value(JsonNode s, Set<String> allowed, int depth) {
    if (depth > 12) {
      throw new Unsatisfied();
    }
    if (s.isBoolean()) {
      if (!s.booleanValue()) {
        throw new Unsatisfied();
      }
      return any(allowed, depth);
    }
    if (s.has("$ref")) {
      String ref = s.get("$ref").textValue();
      JsonNode target = ref.equals("#") ? root
          : root.at(URLDecoder.decode(ref.substring(1), StandardCharsets.UTF_8));
      return value(target, allowed, depth + 1);
    }
    Set<String> types = intersect(allowed, s.has("type") ? typeNames(s.get("type"))
        : implied(s));
    if (types.isEmpty()) {
      throw new Unsatisfied();
    }
    JsonNode branches = s.has("anyOf") ? s.get("anyOf") : s.get("oneOf");
    if (branches != null) {
      return value(branches.get(rnd.nextInt(branches.size())), types, depth + 1);
    }
    if (s.has("const") || s.has("enum")) {
      List<JsonNode> values = new ArrayList<>();
      if (s.has("const")) {
        values.add(s.get("const"));
      } else {
        s.get("enum").forEach(values::add);
      }
      values.removeIf(v -> !types.contains(typeOf(v)) && !(typeOf(v).equals("integer")
          && types.contains("number")));
      if (values.isEmpty()) {
        throw new Unsatisfied();
      }
      return values.get(rnd.nextInt(values.size())).deepCopy();
    }
    List<String> choices = new ArrayList<>(types);
    choices.sort(null);
    String t = choices.get(rnd.nextInt(choices.size()));
    return switch (t) {
      case "object" -> object(s, depth);
      case "array" -> array(s, depth);
      case "string" -> F.textNode(string(s));
      case "integer" -> F.rawValueNode(new RawValue(integer(s)));
      case "number" -> F.rawValueNode(new RawValue(numberOrInteger(s)));
      case "boolean" -> F.booleanNode(rnd.nextBoolean());
      default -> F.nullNode();
    };
  }

  private ObjectNode object(JsonNode s, int depth) {
    Map<String, JsonNode> declared = new LinkedHashMap<>();
    s.path("properties").fields().forEachRemaining(e -> declared.put(e.getKey(), e.getValue()));
    Set<String> required = new LinkedHashSet<>();
    s.path("required").forEach(r -> required.add(r.textValue()));
    JsonNode extra = s.get("additionalProperties");
    if (extra == null && !s.has("properties")) {
      extra = F.booleanNode(true); // nothing declared: any member
    }
    for (String r : required) {
      declared.putIfAbsent(r, s.has("additionalProperties") ? s.get("additionalProperties")
          : F.booleanNode(true));
    }
    ObjectNode out = F.objectNode();
    for (Map.Entry<String, JsonNode> e : declared.entrySet()) {
      boolean req = required.contains(e.getKey());
      if (!req && (depth > 3 || rnd.nextInt(10) < 4)) {
        continue;
      }
      try {
        out.set(e.getKey(), value(e.getValue(), ALL, depth + 1));
      } catch (Unsatisfied u) {
        if (req) {
          throw u;
        }
      }
    }
    if (extra != null && !(extra.isBoolean() && !extra.booleanValue())) {
      int n = depth > 3 ? 0 : rnd.nextInt(3);
      for (int i = 0; i < n; i++) {
        String key = randomString(0, 6);
        if (declared.containsKey(key) || out.has(key)) {
          continue;
        }
        try {
          out.set(key, value(extra, ALL, depth + 1));
        } catch (Unsatisfied u) {
          // no extra value this time
        }
      }
    }
    return out;
  }

  private ArrayNode array(JsonNode s, int depth) {
    List<JsonNode> prefix = new ArrayList<>();
    s.path("prefixItems").forEach(prefix::add);
    int min = s.path("minItems").asInt(0);
    long max = s.has("maxItems") ? s.get("maxItems").asLong() : Long.MAX_VALUE;
    JsonNode items = s.get("items");
    if (items == null) {
      items = s.has("prefixItems") && min <= prefix.size() ? F.booleanNode(false)
          : F.booleanNode(true);
    }
    if (items.isBoolean() && !items.booleanValue()) {
      max = Math.min(max, prefix.size());
    }
    long cap = depth > 3 ? min : Math.min(max, min + 3);
    int n = (int) (min + rnd.nextInt((int) (cap - min) + 1));
    ArrayNode out = F.arrayNode();
    for (int i = 0; i < n; i++) {
      out.add(value(i < prefix.size() ? prefix.get(i) : items, ALL, depth + 1));
    }
    return out;
  }

  private String string(JsonNode s) {
    int min = s.path("minLength").asInt(0);
    int max = s.has("maxLength") ? s.get("maxLength").asInt() : Integer.MAX_VALUE;
    String format = s.path("format").asText("");
    if (FormatLanguage.supported(format)) {
      // the documented subset of the format; the caller's validator judges the value
      Regex regex;
      try {
        regex = FormatLanguage.regex(format);
      } catch (RegexParser.RegexSyntaxException e) {
        throw new IllegalStateException(e);
      }
      Pattern java = s.has("pattern") ? Pattern.compile(s.get("pattern").textValue()) : null;
      for (int attempt = 0; attempt < 50; attempt++) {
        StringBuilder sb = new StringBuilder();
        generate(regex, sb);
        String v = sb.toString();
        int n = v.codePointCount(0, v.length());
        if (n >= min && n <= max && (java == null || java.matcher(v).find())) {
          return v;
        }
      }
      throw new Unsatisfied();
    }
    if (!s.has("pattern")) {
      for (int attempt = 0; attempt < 20; attempt++) {
        String v = randomString(min, (int) Math.min(max, min + 24L));
        int n = v.codePointCount(0, v.length());
        if (n >= min && n <= max) {
          return v;
        }
      }
      throw new Unsatisfied();
    }
    String pattern = s.get("pattern").textValue();
    Regex regex;
    try {
      regex = RegexParser.parse(pattern);
    } catch (RegexParser.RegexSyntaxException e) {
      throw new IllegalStateException(e);
    }
    boolean anchored = pattern.contains("^") || pattern.contains("$");
    Pattern java = Pattern.compile(pattern);
    for (int attempt = 0; attempt < 50; attempt++) {
      StringBuilder sb = new StringBuilder();
      if (!anchored && rnd.nextBoolean()) {
        sb.append(randomString(0, 3));
      }
      generate(regex, sb);
      if (!anchored && rnd.nextBoolean()) {
        sb.append(randomString(0, 3));
      }
      String v = sb.toString();
      int n = v.codePointCount(0, v.length());
      if (n >= min && n <= max && java.matcher(v).find()
          && Normalizer.isNormalized(v, Normalizer.Form.NFC)) {
        return v;
      }
    }
    throw new Unsatisfied();
  }

  private void generate(Regex r, StringBuilder sb) {
    if (r instanceof Regex.Chars c) {
      sb.appendCodePoint(pick(c.set()));
    } else if (r instanceof Regex.Seq seq) {
      seq.parts().forEach(p -> generate(p, sb));
    } else if (r instanceof Regex.Alt alt) {
      generate(alt.alternatives().get(rnd.nextInt(alt.alternatives().size())), sb);
    } else if (r instanceof Regex.Repeat rep) {
      int hi = rep.max() < 0 ? rep.min() + 3 : Math.min(rep.max(), rep.min() + 3);
      int n = rep.min() + rnd.nextInt(hi - rep.min() + 1);
      for (int i = 0; i < n; i++) {
        generate(rep.body(), sb);
      }
    }
  }

  private int pick(CodePointSet set) {
    CodePointSet nice = set.intersect(CodePointSet.range(0x20, 0x7E));
    CodePointSet from = !nice.isEmpty() && rnd.nextInt(10) < 7 ? nice : set;
    int i = rnd.nextInt(from.rangeCount());
    int span = Math.min(from.hi(i) - from.lo(i), 0x3000);
    return from.lo(i) + rnd.nextInt(span + 1);
  }

  /** Random text of min..max code points from many scripts, with characters JSON escapes. */
  String randomString(int min, int max) {
    int n = min + rnd.nextInt(max - min + 1);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) {
      int r = rnd.nextInt(100);
      int cp;
      if (r < 40) {
        cp = 0x20 + rnd.nextInt(0x5F);
      } else if (r < 46) {
        cp = "\"\\\n\t\r\b\f\u0001\u001f/".codePointAt(rnd.nextInt(10));
      } else if (r < 60) {
        cp = 0xC0 + rnd.nextInt(0x180);
      } else if (r < 85) {
        cp = 0x4E00 + rnd.nextInt(0x5000);
      } else if (r < 93) {
        cp = 0x1F600 + rnd.nextInt(0x50);
      } else {
        cp = 0x400 + rnd.nextInt(0x300);
      }
      sb.appendCodePoint(cp);
    }
    return Normalizer.normalize(sb.toString(), Normalizer.Form.NFC);
  }

  private String integer(JsonNode s) {
    BigInteger lo = s.has("minimum") ? s.get("minimum").decimalValue()
        .setScale(0, RoundingMode.CEILING).toBigInteger() : null;
    BigInteger hi = s.has("maximum") ? s.get("maximum").decimalValue()
        .setScale(0, RoundingMode.FLOOR).toBigInteger() : null;
    BigInteger v;
    if (lo != null && hi != null) {
      if (lo.compareTo(hi) > 0) {
        throw new Unsatisfied();
      }
      BigInteger span = hi.subtract(lo);
      v = lo.add(span.compareTo(BigInteger.valueOf(1_000_000)) > 0
          ? BigInteger.valueOf(rnd.nextInt(1_000_000)) : BigInteger.valueOf(
              (long) (rnd.nextDouble() * (span.longValue() + 1))));
    } else if (lo != null) {
      v = lo.add(BigInteger.valueOf(rnd.nextInt(3) == 0 ? rnd.nextInt(10) : rnd.nextInt(1 << 30)));
    } else if (hi != null) {
      v = hi.subtract(BigInteger.valueOf(rnd.nextInt(3) == 0 ? rnd.nextInt(10)
          : rnd.nextInt(1 << 30)));
    } else {
      long m = rnd.nextInt(3) == 0 ? rnd.nextLong() / 10 : rnd.nextInt(2000) - 1000;
      v = BigInteger.valueOf(m);
    }
    return v.toString();
  }

  private String numberOrInteger(JsonNode s) {
    if (rnd.nextBoolean()) {
      try {
        return integer(s);
      } catch (Unsatisfied e) {
        // no integer in range: a fraction then
      }
    }
    return number(s);
  }

  private String number(JsonNode s) {
    BigDecimal lo = s.has("minimum") ? s.get("minimum").decimalValue() : null;
    BigDecimal hi = s.has("maximum") ? s.get("maximum").decimalValue() : null;
    if (lo == null && hi == null) {
      StringBuilder sb = new StringBuilder();
      if (rnd.nextBoolean()) {
        sb.append('-');
      }
      sb.append(rnd.nextInt(4) == 0 ? "0" : String.valueOf(1 + rnd.nextInt(99999)));
      if (rnd.nextBoolean()) {
        sb.append('.').append(rnd.nextInt(1000));
      }
      if (rnd.nextInt(3) == 0) {
        sb.append(rnd.nextBoolean() ? 'e' : 'E');
        sb.append(new String[] {"", "+", "-"}[rnd.nextInt(3)]);
        sb.append(rnd.nextInt(400));
      }
      return sb.toString();
    }
    int scale = rnd.nextInt(7);
    BigDecimal v;
    if (lo != null && hi != null) {
      BigDecimal u = BigDecimal.valueOf(rnd.nextDouble());
      v = lo.add(hi.subtract(lo).multiply(u)).setScale(scale, RoundingMode.HALF_UP);
      if (v.compareTo(lo) < 0 || v.compareTo(hi) > 0) {
        v = rnd.nextBoolean() ? lo : hi;
      }
    } else if (lo != null) {
      v = lo.add(BigDecimal.valueOf(rnd.nextInt(100000), scale));
    } else {
      v = hi.subtract(BigDecimal.valueOf(rnd.nextInt(100000), scale));
    }
    return v.signum() == 0 ? "0" : v.toPlainString();
  }

  private JsonNode any(Set<String> allowed, int depth) {
    List<String> choices = new ArrayList<>(allowed);
    choices.sort(null);
    if (depth > 4) {
      choices.removeIf(t -> t.equals("object") || t.equals("array"));
      if (choices.isEmpty()) {
        throw new Unsatisfied();
      }
    }
    String t = choices.get(rnd.nextInt(choices.size()));
    JsonNode free = F.booleanNode(true);
    return switch (t) {
      case "object" -> {
        ObjectNode o = F.objectNode();
        for (int i = rnd.nextInt(3); i > 0; i--) {
          o.set(randomString(0, 5), any(ALL, depth + 1));
        }
        yield o;
      }
      case "array" -> {
        ArrayNode a = F.arrayNode();
        for (int i = rnd.nextInt(3); i > 0; i--) {
          a.add(any(ALL, depth + 1));
        }
        yield a;
      }
      case "string" -> F.textNode(randomString(0, 8));
      case "integer" -> F.rawValueNode(new RawValue(integer(free)));
      case "number" -> F.rawValueNode(new RawValue(number(free)));
      case "boolean" -> F.booleanNode(rnd.nextBoolean());
      default -> F.nullNode();
    };
  }

  private static Set<String> typeNames(JsonNode t) {
    Set<String> out = new LinkedHashSet<>();
    if (t.isArray()) {
      t.forEach(x -> out.add(x.textValue()));
    } else {
      out.add(t.textValue());
    }
    return out;
  }

  private static Set<String> implied(JsonNode s) {
    Set<String> t = new LinkedHashSet<>();
    for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
      switch (it.next()) {
        case "properties", "required", "additionalProperties" -> t.add("object");
        case "items", "prefixItems", "minItems", "maxItems" -> t.add("array");
        case "minLength", "maxLength", "pattern" -> t.add("string");
        case "format" -> {
          if (FormatLanguage.supported(s.get("format").asText())) {
            t.add("string");
          }
        }
        case "minimum", "maximum" -> t.add("number");
        default -> { }
      }
    }
    return t.isEmpty() ? ALL : t;
  }

  private static Set<String> intersect(Set<String> a, Set<String> b) {
    Set<String> out = new LinkedHashSet<>();
    for (String t : a) {
      if (b.contains(t)) {
        out.add(t);
      } else if (t.equals("integer") && b.contains("number")) {
        out.add("integer");
      } else if (t.equals("number") && b.contains("integer")) {
        out.add("integer");
      }
    }
    return out;
  }

  private static String typeOf(JsonNode v) {
    if (v.isObject()) {
      return "object";
    }
    if (v.isArray()) {
      return "array";
    }
    if (v.isTextual()) {
      return "string";
    }
    if (v.isIntegralNumber()) {
      return "integer";
    }
    if (v.isNumber()) {
      return "number";
    }
    if (v.isBoolean()) {
      return "boolean";
    }
    return "null";
  }
}
