package io.redress.inference.guide;

/**
 * The JSON Schema types as bits of a type mask. A number is either {@link #INTEGRAL} or
 * {@link #FRACTIONAL}: {@code "integer"} is the first, {@code "number"} both, so "integer within
 * number" is a plain subset test.
 */
enum JsonType {
  OBJECT,
  ARRAY,
  STRING,
  INTEGRAL,
  FRACTIONAL,
  BOOLEAN,
  NULL;

  static final int ALL = (1 << values().length) - 1;
  static final int NUMBER = INTEGRAL.bit() | FRACTIONAL.bit();

  int bit() {
    return 1 << ordinal();
  }

  static boolean has(int mask, JsonType t) {
    return (mask & t.bit()) != 0;
  }

  /** The mask of a {@code "type"} name, or -1 for an unknown name. */
  static int ofName(String name) {
    return switch (name) {
      case "object" -> OBJECT.bit();
      case "array" -> ARRAY.bit();
      case "string" -> STRING.bit();
      case "integer" -> INTEGRAL.bit();
      case "number" -> NUMBER;
      case "boolean" -> BOOLEAN.bit();
      case "null" -> NULL.bit();
      default -> -1;
    };
  }

  /**
   * The mask of a JSON value's type. A decimal with a zero fraction ({@code 1.0}) gets both number
   * bits: validators disagree on whether it is an integer, so a value check needs the mask to be
   * a subset of the allowed types and an overlap check only needs an intersection.
   */
  static int of(com.fasterxml.jackson.databind.JsonNode v) {
    if (v.isObject()) {
      return OBJECT.bit();
    }
    if (v.isArray()) {
      return ARRAY.bit();
    }
    if (v.isTextual()) {
      return STRING.bit();
    }
    if (v.isIntegralNumber()) {
      return INTEGRAL.bit();
    }
    if (v.isNumber()) {
      return NumberLanguage.isIntegral(v.decimalValue()) ? NUMBER : FRACTIONAL.bit();
    }
    if (v.isBoolean()) {
      return BOOLEAN.bit();
    }
    return NULL.bit();
  }
}
