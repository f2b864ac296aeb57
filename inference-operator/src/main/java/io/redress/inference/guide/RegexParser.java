package io.redress.inference.guide;

import java.util.ArrayList;
import java.util.List;

/**
 * Parses the {@code pattern} subset we support into a {@link Regex}: literals, {@code .}, classes
 * ({@code [a-z]}, {@code [^"]}), escapes ({@code \d \w \s} and their negations, {@code \t \n \r
 * \f}, {@code \xHH}, {@code \}{@code uXXXX}, escaped punctuation), quantifiers ({@code * + ? {n}
 * {n,} {n,m}}, lazy forms too), alternation, groups ({@code (...)}, {@code (?:...)}, {@code
 * (?<name>...)}) and the anchors {@code ^ $}.
 *
 * <p>Where ECMA-262 (what JSON Schema names) and java.util.regex (what validators on the JVM run)
 * disagree, we take the meaning both accept or reject the construct: {@code .} excludes {@code \n
 * \r \u0085 \u2028 \u2029}, {@code \s} is ASCII whitespace, and {@code \v}, {@code \b},
 * backreferences, lookaround, possessive quantifiers, nested classes and a lone {@code {} are
 * errors.
 */
final class RegexParser {

  static final int MAX_REPEAT = 1000;

  /** A pattern outside the subset; the message says what and where. */
  static final class RegexSyntaxException extends Exception {
    RegexSyntaxException(String message) {
      super(message);
    }
  }

  static final CodePointSet DIGIT = CodePointSet.range('0', '9');
  static final CodePointSet WORD = CodePointSet.range('a', 'z').union(CodePointSet.range('A', 'Z'))
      .union(DIGIT).union(CodePointSet.of('_'));
  static final CodePointSet SPACE = CodePointSet.of(' ', '\t', '\n', 0x0B, '\f', '\r');
  static final CodePointSet DOT = CodePointSet.of('\n', '\r', 0x85, 0x2028, 0x2029).complement();

  private final int[] cps;
  private int pos;

  private RegexParser(String pattern) {
    this.cps = pattern.codePoints().toArray();
  }

  static Regex parse(String pattern) throws RegexSyntaxException {
    RegexParser p = new RegexParser(pattern);
    Regex r = p.alternation();
    if (p.pos < p.cps.length) {
      throw p.error("unbalanced ')'");
    }
    return r;
  }

  private Regex alternation() throws RegexSyntaxException {
    List<Regex> alts = new ArrayList<>();
    alts.add(sequence());
    while (peek() == '|') {
      pos++;
      alts.add(sequence());
    }
    return Regex.alt(alts);
  }

  private Regex sequence() throws RegexSyntaxException {
    List<Regex> parts = new ArrayList<>();
    while (pos < cps.length && peek() != '|' && peek() != ')') {
      Regex atom = atom();
      parts.add(quantified(atom));
    }
    return parts.size() == 1 ? parts.get(0) : new Regex.Seq(parts);
  }

  private Regex quantified(Regex atom) throws RegexSyntaxException {
    while (pos < cps.length) {
      int c = peek();
      int min;
      int max;
      if (c == '*') {
        min = 0;
        max = -1;
        pos++;
      } else if (c == '+') {
        min = 1;
        max = -1;
        pos++;
      } else if (c == '?') {
        min = 0;
        max = 1;
        pos++;
      } else if (c == '{') {
        int[] bounds = braces();
        min = bounds[0];
        max = bounds[1];
      } else {
        return atom;
      }
      if (atom instanceof Regex.Start || atom instanceof Regex.End) {
        throw error("quantifier after an anchor");
      }
      if (peek() == '?') {
        pos++; // lazy: the same language
      } else if (peek() == '+') {
        throw error("possessive quantifiers are not supported");
      }
      atom = new Regex.Repeat(atom, min, max);
    }
    return atom;
  }

  private int[] braces() throws RegexSyntaxException {
    int start = pos;
    pos++; // '{'
    int min = number();
    int max = min;
    if (min < 0) {
      pos = start;
      throw error("'{' must start a quantifier {n}, {n,} or {n,m}; escape a literal brace as \\{");
    }
    if (peek() == ',') {
      pos++;
      max = peek() == '}' ? -1 : number();
      if (max == -2 || (max >= 0 && max < min)) {
        throw error("bad quantifier bounds");
      }
    }
    if (peek() != '}') {
      throw error("'{' must start a quantifier {n}, {n,} or {n,m}; escape a literal brace as \\{");
    }
    pos++;
    if (min > MAX_REPEAT || max > MAX_REPEAT) {
      throw error("repetition counts above " + MAX_REPEAT + " are not supported");
    }
    return new int[] {min, max};
  }

  /** Digits as a number, -1 if none (or -2 where a number was required but absent). */
  private int number() {
    int start = pos;
    long v = 0;
    while (pos < cps.length && cps[pos] >= '0' && cps[pos] <= '9') {
      v = Math.min(v * 10 + (cps[pos] - '0'), Integer.MAX_VALUE);
      pos++;
    }
    return pos == start ? -1 : (int) v;
  }

  private Regex atom() throws RegexSyntaxException {
    int c = cps[pos++];
    switch (c) {
      case '(':
        return group();
      case '[':
        return new Regex.Chars(charClass());
      case '.':
        return new Regex.Chars(DOT);
      case '^':
        return new Regex.Start();
      case '$':
        return new Regex.End();
      case '\\':
        return new Regex.Chars(escape(false));
      case '*':
      case '+':
      case '?':
        pos--;
        throw error("nothing to repeat");
      case '{':
        pos--;
        throw error("'{' must start a quantifier {n}, {n,} or {n,m}; escape a literal brace as \\{");
      default:
        return new Regex.Chars(CodePointSet.of(c));
    }
  }

  private Regex group() throws RegexSyntaxException {
    if (peek() == '?') {
      pos++;
      int k = pos < cps.length ? cps[pos++] : -1;
      if (k == '<' && pos < cps.length && cps[pos] != '=' && cps[pos] != '!') {
        while (pos < cps.length && cps[pos] != '>') {
          int n = cps[pos++];
          if (!(Character.isLetterOrDigit(n) || n == '_')) {
            throw error("bad group name");
          }
        }
        if (pos >= cps.length) {
          throw error("unterminated group name");
        }
        pos++;
      } else if (k != ':') {
        throw error("lookaround and inline flags are not supported");
      }
    }
    Regex inner = alternation();
    if (peek() != ')') {
      throw error("missing ')'");
    }
    pos++;
    return inner;
  }

  private CodePointSet charClass() throws RegexSyntaxException {
    boolean negate = false;
    if (peek() == '^') {
      negate = true;
      pos++;
    }
    if (peek() == ']') {
      throw error("empty class '[]' or '[^]' is not supported");
    }
    CodePointSet set = CodePointSet.EMPTY;
    while (true) {
      if (pos >= cps.length) {
        throw error("missing ']'");
      }
      int c = cps[pos];
      if (c == ']') {
        pos++;
        break;
      }
      if (c == '[') {
        throw error("'[' inside a class must be escaped as \\[");
      }
      if (c == '&' && pos + 1 < cps.length && cps[pos + 1] == '&') {
        throw error("class intersection '&&' is not supported");
      }
      pos++;
      CodePointSet item;
      int single = -1;
      if (c == '\\') {
        item = escape(true);
        if (item.rangeCount() == 1 && item.lo(0) == item.hi(0)) {
          single = item.lo(0);
        }
      } else {
        single = c;
        item = CodePointSet.of(c);
      }
      boolean rangeFollows = peek() == '-' && pos + 1 < cps.length && cps[pos + 1] != ']';
      if (single < 0 && rangeFollows) {
        throw error("a class range cannot start with a class escape; escape the '-'");
      }
      if (rangeFollows) {
        pos++;
        int d = cps[pos++];
        int hi;
        if (d == '\\') {
          CodePointSet e = escape(true);
          if (e.rangeCount() != 1 || e.lo(0) != e.hi(0)) {
            throw error("a class range must end with a single character");
          }
          hi = e.lo(0);
        } else if (d == '[') {
          throw error("'[' inside a class must be escaped as \\[");
        } else {
          hi = d;
        }
        if (hi < single) {
          throw error("class range out of order");
        }
        item = CodePointSet.range(single, hi);
      }
      set = set.union(item);
    }
    return negate ? set.complement() : set;
  }

  /** After a backslash: the code points the escape stands for. */
  private CodePointSet escape(boolean inClass) throws RegexSyntaxException {
    if (pos >= cps.length) {
      throw error("pattern ends with a lone backslash");
    }
    int c = cps[pos++];
    switch (c) {
      case 'd':
        return DIGIT;
      case 'D':
        return DIGIT.complement();
      case 'w':
        return WORD;
      case 'W':
        return WORD.complement();
      case 's':
        return SPACE;
      case 'S':
        return SPACE.complement();
      case 't':
        return CodePointSet.of('\t');
      case 'n':
        return CodePointSet.of('\n');
      case 'r':
        return CodePointSet.of('\r');
      case 'f':
        return CodePointSet.of('\f');
      case 'x':
        return CodePointSet.of(hex(2));
      case 'u': {
        int v = hex(4);
        if (v >= 0xD800 && v <= 0xDBFF && pos + 1 < cps.length && cps[pos] == '\\'
            && cps[pos + 1] == 'u') {
          pos += 2;
          int lo = hex(4);
          if (lo < 0xDC00 || lo > 0xDFFF) {
            throw error("a high surrogate escape must be followed by a low one");
          }
          return CodePointSet.of(Character.toCodePoint((char) v, (char) lo));
        }
        if (v >= 0xD800 && v <= 0xDFFF) {
          throw error("lone surrogate escapes are not supported");
        }
        return CodePointSet.of(v);
      }
      default:
        if (c < 0x80 && !Character.isLetterOrDigit(c)) {
          return CodePointSet.of(c);
        }
        pos--;
        throw error("escape \\" + new String(Character.toChars(c))
            + " is not supported" + (inClass ? " in a class" : ""));
    }
  }

  private int hex(int digits) throws RegexSyntaxException {
    int v = 0;
    for (int i = 0; i < digits; i++) {
      int d = pos < cps.length ? Character.digit(cps[pos], 16) : -1;
      if (d < 0) {
        throw error("expected " + digits + " hex digits");
      }
      v = v * 16 + d;
      pos++;
    }
    return v;
  }

  private int peek() {
    return pos < cps.length ? cps[pos] : -1;
  }

  private RegexSyntaxException error(String what) {
    return new RegexSyntaxException(what + " at offset " + pos);
  }
}
