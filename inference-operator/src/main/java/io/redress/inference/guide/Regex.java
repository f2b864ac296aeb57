package io.redress.inference.guide;

import java.util.List;

/**
 * A regular expression over code points: what {@code pattern} parses to, and what numeric
 * ranges are built from. Anchors are zero-width: {@code ^} holds only before the first code
 * point and {@code $} only after the last.
 */
sealed interface Regex {

  /** One code point from the set. */
  record Chars(CodePointSet set) implements Regex {}

  /** Each part in turn; the empty sequence matches the empty string. */
  record Seq(List<Regex> parts) implements Regex {
    public Seq {
      parts = List.copyOf(parts);
    }
  }

  /** Any one of the alternatives. */
  record Alt(List<Regex> alternatives) implements Regex {
    public Alt {
      alternatives = List.copyOf(alternatives);
    }
  }

  /** {@code min} to {@code max} repetitions; {@code max < 0} means unbounded. */
  record Repeat(Regex body, int min, int max) implements Regex {}

  /** {@code ^}: the start of the string. */
  record Start() implements Regex {}

  /** {@code $}: the end of the string. */
  record End() implements Regex {}

  Regex EMPTY = new Seq(List.of());

  static Regex chars(int lo, int hi) {
    return new Chars(CodePointSet.range(lo, hi));
  }

  static Regex literal(String s) {
    return new Seq(s.codePoints().mapToObj(cp -> (Regex) chars(cp, cp)).toList());
  }

  static Regex seq(Regex... parts) {
    return new Seq(List.of(parts));
  }

  static Regex alt(List<Regex> alternatives) {
    return alternatives.size() == 1 ? alternatives.get(0) : new Alt(alternatives);
  }

  static Regex optional(Regex r) {
    return new Repeat(r, 0, 1);
  }

  static Regex digits(int min, int max) {
    return new Repeat(chars('0', '9'), min, max);
  }
}
