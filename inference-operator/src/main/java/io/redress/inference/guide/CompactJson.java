package io.redress.inference.guide;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Map;

/**
 * A JSON value's compact bytes, exactly as Jackson writes them with
 * {@code WRITE_BIGDECIMAL_AS_PLAIN} (the form enum/const values and keys are emitted in):
 * escapes for '"', '\', control characters ({@code \b \t \n \f \r}, else {@code \}{@code u00XX}),
 * surrogate pairs as two {@code \}{@code uXXXX} escapes, everything else raw UTF-8. Written by
 * hand because it runs at every compile and Jackson's serializer is slow to start.
 */
final class CompactJson {

  private static final byte[] HEX = "0123456789ABCDEF".getBytes(StandardCharsets.US_ASCII);

  private CompactJson() {}

  static byte[] bytes(JsonNode v) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    write(v, out);
    return out.toByteArray();
  }

  /** A string's JSON form, quotes included. */
  static byte[] string(String s) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(s.length() + 2);
    string(s, out);
    return out.toByteArray();
  }

  private static void write(JsonNode v, ByteArrayOutputStream out) {
    if (v.isObject()) {
      out.write('{');
      boolean first = true;
      for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (!first) {
          out.write(',');
        }
        first = false;
        string(e.getKey(), out);
        out.write(':');
        write(e.getValue(), out);
      }
      out.write('}');
    } else if (v.isArray()) {
      out.write('[');
      for (int i = 0; i < v.size(); i++) {
        if (i > 0) {
          out.write(',');
        }
        write(v.get(i), out);
      }
      out.write(']');
    } else if (v.isTextual()) {
      string(v.textValue(), out);
    } else if (v.isBigDecimal()) {
      ascii(v.decimalValue().toPlainString(), out);
    } else if (v.isNumber() || v.isBoolean() || v.isNull()) {
      ascii(v.asText(), out);
    } else {
      throw new IllegalArgumentException("not a JSON value: " + v.getNodeType());
    }
  }

  private static void string(String s, ByteArrayOutputStream out) {
    out.write('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        out.write('\\');
        out.write(c);
      } else if (c < 0x20) {
        out.write('\\');
        switch (c) {
          case '\b' -> out.write('b');
          case '\t' -> out.write('t');
          case '\n' -> out.write('n');
          case '\f' -> out.write('f');
          case '\r' -> out.write('r');
          default -> unicodeEscape(c, out);
        }
      } else if (c < 0x80) {
        out.write(c);
      } else if (Character.isSurrogate(c)) {
        out.write('\\');
        unicodeEscape(c, out);
      } else {
        byte[] b = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
        out.write(b, 0, b.length);
      }
    }
    out.write('"');
  }

  private static void unicodeEscape(char c, ByteArrayOutputStream out) {
    out.write('u');
    out.write(HEX[(c >> 12) & 15]);
    out.write(HEX[(c >> 8) & 15]);
    out.write(HEX[(c >> 4) & 15]);
    out.write(HEX[c & 15]);
  }

  private static void ascii(String s, ByteArrayOutputStream out) {
    for (int i = 0; i < s.length(); i++) {
      out.write(s.charAt(i));
    }
  }
}
