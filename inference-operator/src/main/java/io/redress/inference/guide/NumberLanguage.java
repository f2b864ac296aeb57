package io.redress.inference.guide;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;

/**
 * The byte strings a number or integer schema may produce, as an automaton: JSON number syntax
 * intersected with the range [minimum, maximum], so every prefix the automaton accepts can still
 * be completed to an in-range value. Ranges are exact decimal arithmetic, never doubles.
 *
 * <p>What we emit (a documented subset of JSON numbers): integers as {@code 0} or {@code
 * -?[1-9][0-9]*} (no {@code -0}, no fraction, no exponent); numbers as {@code -?int(.frac)?},
 * with an exponent {@code [eE][+-]?[0-9]{1,3}} only when the schema has no bounds, and no
 * negative zero where bounds apply. At most {@value #MAX_INT_DIGITS} integer digits (more where
 * a bound needs them), {@value #MAX_FRACTION_DIGITS} fraction digits and
 * {@value #MAX_EXPONENT_DIGITS} exponent digits, so any JSON parser reads the value.
 */
final class NumberLanguage {

  static final int MAX_INT_DIGITS = 19;
  static final int MAX_FRACTION_DIGITS = 19;
  static final int MAX_EXPONENT_DIGITS = 3;

  private NumberLanguage() {}

  /**
   * @param integer whether only integers are allowed
   * @param min the inclusive lower bound, or null
   * @param max the inclusive upper bound, or null
   * @return the automaton; empty when no value fits (the caller reports it)
   */
  static CodePointDfa build(boolean integer, BigDecimal min, BigDecimal max) {
    try {
      if (integer) {
        min = min == null ? null : new BigDecimal(min.setScale(0, RoundingMode.CEILING)
            .toBigInteger());
        max = max == null ? null : new BigDecimal(max.setScale(0, RoundingMode.FLOOR)
            .toBigInteger());
      }
      int intDigits = Math.max(MAX_INT_DIGITS, Math.max(digits(min), digits(max)));
      Regex intPart = Regex.alt(List.of(Regex.literal("0"),
          Regex.seq(Regex.chars('1', '9'), Regex.digits(0, intDigits - 1))));
      Regex fraction = Regex.seq(Regex.literal("."), Regex.digits(1, MAX_FRACTION_DIGITS));
      Regex syntax;
      if (integer) {
        syntax = Regex.alt(List.of(Regex.literal("0"), Regex.seq(
            Regex.optional(Regex.literal("-")), Regex.chars('1', '9'),
            Regex.digits(0, intDigits - 1))));
      } else if (min == null && max == null) {
        Regex exponent = Regex.seq(new Regex.Chars(CodePointSet.of('e', 'E')),
            Regex.optional(new Regex.Chars(CodePointSet.of('+', '-'))),
            Regex.digits(1, MAX_EXPONENT_DIGITS));
        syntax = Regex.seq(Regex.optional(Regex.literal("-")), intPart, Regex.optional(fraction),
            Regex.optional(exponent));
      } else {
        syntax = Regex.seq(Regex.optional(Regex.literal("-")), intPart, Regex.optional(fraction));
      }
      CodePointDfa dfa = CodePointDfa.of(syntax, false);
      if (min == null && max == null) {
        return dfa;
      }
      CodePointDfa range = null;
      if (max == null || max.signum() >= 0) {
        BigDecimal lo = min == null || min.signum() < 0 ? BigDecimal.ZERO : min;
        CodePointDfa part = magnitudeAtLeast("", lo, integer);
        if (max != null) {
          part = CodePointDfa.intersect(part, magnitudeAtMost("", max, integer));
        }
        range = part;
      }
      if (min == null || min.signum() < 0) {
        // -m with m in [max(-max, 0), -min], never -0
        BigDecimal lo = max == null || max.signum() >= 0 ? BigDecimal.ZERO : max.negate();
        if (integer && lo.signum() == 0) {
          lo = BigDecimal.ONE;
        }
        CodePointDfa part = magnitudeAtLeast("-", lo, integer);
        if (min != null) {
          part = CodePointDfa.intersect(part, magnitudeAtMost("-", min.negate(), integer));
        }
        if (!integer) {
          part = CodePointDfa.intersect(part, CodePointDfa.of(Regex.seq(Regex.literal("-"),
              Regex.alt(List.of(
                  Regex.seq(Regex.chars('1', '9'), Regex.digits(0, -1),
                      Regex.optional(Regex.seq(Regex.literal("."), Regex.digits(1, -1)))),
                  Regex.seq(Regex.literal("0."), Regex.digits(0, -1), Regex.chars('1', '9'),
                      Regex.digits(0, -1))))), false));
        }
        range = range == null ? part : CodePointDfa.union(range, part);
      }
      return CodePointDfa.intersect(dfa, range);
    } catch (CodePointDfa.TooLargeException e) {
      throw new IllegalStateException("number automaton too large", e);
    }
  }

  private static int digits(BigDecimal v) {
    return v == null ? 0 : v.abs().toBigInteger().toString().length();
  }

  /** {@code prefix} then a magnitude (digits, maybe a fraction) whose value is >= a >= 0. */
  private static CodePointDfa magnitudeAtLeast(String prefix, BigDecimal a, boolean integer)
      throws CodePointDfa.TooLargeException {
    String whole = a.toBigInteger().toString();
    String frac = fractionDigits(a);
    List<Regex> alts = new ArrayList<>();
    Regex optFraction = integer ? Regex.EMPTY
        : Regex.optional(Regex.seq(Regex.literal("."), Regex.digits(1, -1)));
    alts.add(Regex.seq(intGreater(whole), optFraction));
    if (integer || frac.isEmpty()) {
      alts.add(Regex.seq(Regex.literal(whole), optFraction));
    } else {
      alts.add(Regex.seq(Regex.literal(whole + "."), fractionAtLeast(frac)));
    }
    return CodePointDfa.of(Regex.seq(Regex.literal(prefix), Regex.alt(alts)), false);
  }

  /** {@code prefix} then a magnitude whose value is <= b, b >= 0. */
  private static CodePointDfa magnitudeAtMost(String prefix, BigDecimal b, boolean integer)
      throws CodePointDfa.TooLargeException {
    String whole = b.toBigInteger().toString();
    String frac = fractionDigits(b);
    List<Regex> alts = new ArrayList<>();
    Regex optFraction = integer ? Regex.EMPTY
        : Regex.optional(Regex.seq(Regex.literal("."), Regex.digits(1, -1)));
    Regex less = intLess(whole);
    if (less != null) {
      alts.add(Regex.seq(less, optFraction));
    }
    if (integer) {
      alts.add(Regex.literal(whole));
    } else if (frac.isEmpty()) {
      alts.add(Regex.seq(Regex.literal(whole), Regex.optional(Regex.seq(Regex.literal("."),
          new Regex.Repeat(Regex.literal("0"), 1, -1)))));
    } else {
      alts.add(Regex.seq(Regex.literal(whole),
          Regex.optional(Regex.seq(Regex.literal("."), fractionAtMost(frac)))));
    }
    return CodePointDfa.of(Regex.seq(Regex.literal(prefix), Regex.alt(alts)), false);
  }

  /** The fraction's digits without trailing zeros ("" for an integral value). */
  private static String fractionDigits(BigDecimal v) {
    BigDecimal f = v.abs().subtract(new BigDecimal(v.abs().toBigInteger()));
    if (f.signum() == 0) {
      return "";
    }
    String s = f.stripTrailingZeros().toPlainString(); // "0.xyz"
    return s.substring(2);
  }

  /** Integer digit strings without leading zeros whose value exceeds a (a's digits). */
  private static Regex intGreater(String a) {
    int n = a.length();
    List<Regex> alts = new ArrayList<>();
    alts.add(Regex.seq(Regex.chars('1', '9'), Regex.digits(n, -1))); // longer
    for (int i = 0; i < n; i++) {
      int d = a.charAt(i);
      if (d < '9') {
        alts.add(Regex.seq(Regex.literal(a.substring(0, i)), Regex.chars(d + 1, '9'),
            Regex.digits(n - i - 1, n - i - 1)));
      }
    }
    return Regex.alt(alts);
  }

  /** Integer digit strings without leading zeros whose value is below b; null if none. */
  private static Regex intLess(String b) {
    int n = b.length();
    List<Regex> alts = new ArrayList<>();
    if (n >= 2) {
      alts.add(Regex.literal("0"));
      alts.add(Regex.seq(Regex.chars('1', '9'), Regex.digits(0, n - 2))); // shorter
    }
    for (int i = 0; i < n; i++) {
      int d = b.charAt(i);
      int low = (i == 0 && n > 1) ? '1' : '0';
      if (d > low) {
        alts.add(Regex.seq(Regex.literal(b.substring(0, i)), Regex.chars(low, d - 1),
            Regex.digits(n - i - 1, n - i - 1)));
      }
    }
    return alts.isEmpty() ? null : Regex.alt(alts);
  }

  /** Non-empty digit strings g with 0.g >= 0.f (f non-empty, no trailing zero). */
  private static Regex fractionAtLeast(String f) {
    List<Regex> alts = new ArrayList<>();
    for (int i = 0; i < f.length(); i++) {
      int d = f.charAt(i);
      if (d < '9') {
        alts.add(Regex.seq(Regex.literal(f.substring(0, i)), Regex.chars(d + 1, '9'),
            Regex.digits(0, -1)));
      }
    }
    alts.add(Regex.seq(Regex.literal(f), Regex.digits(0, -1)));
    return Regex.alt(alts);
  }

  /** Non-empty digit strings g with 0.g <= 0.f (f non-empty, no trailing zero). */
  private static Regex fractionAtMost(String f) {
    List<Regex> alts = new ArrayList<>();
    for (int i = 0; i < f.length(); i++) {
      int d = f.charAt(i);
      if (d > '0') {
        alts.add(Regex.seq(Regex.literal(f.substring(0, i)), Regex.chars('0', d - 1),
            Regex.digits(0, -1)));
      }
    }
    for (int k = 1; k < f.length(); k++) {
      alts.add(Regex.literal(f.substring(0, k)));
    }
    alts.add(Regex.seq(Regex.literal(f), new Regex.Repeat(Regex.literal("0"), 0, -1)));
    return Regex.alt(alts);
  }

  /** Whether a value is an integer (for enum filtering and bounds). */
  static boolean isIntegral(BigDecimal v) {
    return v.signum() == 0 || v.stripTrailingZeros().scale() <= 0;
  }
}
