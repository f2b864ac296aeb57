package io.redress.inference.guide;

import io.redress.inference.guide.Grammar.StringNode;

/**
 * A JSON string, byte by byte: the opening quote, raw UTF-8 (validated: no overlongs, no
 * surrogates, nothing above U+10FFFF), every escape ({@code \" \\ \/ \b \f \n \r \t \}{@code
 * uXXXX}, surrogate pairs as one code point), no unescaped control characters, the closing
 * quote. Lengths count code points, each counted at its first byte so a started character always
 * fits. With a pattern, each finished code point steps the pattern automaton, and every byte
 * (even mid-character) is refused unless some completion still matches within the lengths.
 *
 * <p>The state is a long: substate (5 bits), the partial value being decoded (21), the high
 * surrogate's offset (10), the pattern automaton state (26). {@link #step} returns the next
 * state, with {@link #START} set when a code point began, or {@link #REJECT} / {@link #CLOSED}.
 */
final class StringLexer {

  static final int OPEN = 0;
  static final int NORMAL = 1;
  static final int ESC = 2;
  static final int U0 = 3; // after backslash-u with 0..3 hex digits: U0 + digits
  static final int HS = 7; // a high surrogate escape done: expects a backslash
  static final int HSU = 8; // expects 'u'
  static final int L0 = 9; // low surrogate digits: L0 + digits (L0 expects 'D')
  static final int C1 = 13; // UTF-8: one continuation byte left
  static final int C2 = 14; // two left
  static final int C2_E0 = 15; // two left, the next in A0..BF
  static final int C2_ED = 16; // two left, the next in 80..9F
  static final int C3 = 17; // three left
  static final int C3_F0 = 18; // three left, the next in 90..BF
  static final int C3_F4 = 19; // three left, the next in 80..8F
  static final int SUBSTATES = 20;

  static final long REJECT = -1;
  static final long CLOSED = -2;
  static final long START = 1L << 62;
  private static final long Q_MASK = (1L << 26) - 1;

  private StringLexer() {}

  static long pack(int sub, int acc, int hiOff, int q) {
    return sub | ((long) acc << 5) | ((long) hiOff << 26) | ((long) q << 36);
  }

  static int sub(long lex) {
    return (int) (lex & 31);
  }

  static int dfaState(long lex) {
    return (int) ((lex >>> 36) & Q_MASK);
  }

  /** The state before the opening quote. */
  static long open() {
    return pack(OPEN, 0, 0, 0);
  }

  /**
   * For strings without a pattern the partial value matters only to tell surrogate escapes
   * apart: this keeps just that, so equal behaviour means equal state (6 bits).
   */
  static int plainState(long lex) {
    int sub = sub(lex);
    int acc = (int) ((lex >>> 5) & 0x1FFFFF);
    boolean flag = switch (sub) {
      case U0 + 1 -> acc == 0xD;
      case U0 + 2 -> acc >= 0xD8 && acc <= 0xDB;
      case U0 + 3 -> (acc >> 4) >= 0xD8 && (acc >> 4) <= 0xDB;
      default -> false;
    };
    return sub | (flag ? 32 : 0);
  }

  /** A lexer state with the behaviour of a {@link #plainState}. */
  static long fromPlainState(int plain) {
    int sub = plain & 31;
    boolean flag = (plain & 32) != 0;
    int acc = !flag ? 0 : switch (sub) {
      case U0 + 1 -> 0xD;
      case U0 + 2 -> 0xD8;
      default -> 0xD80;
    };
    return pack(sub, acc, 0, 0);
  }

  /** Whether the string may end here (at the closing quote). */
  static boolean canClose(StringNode node, int q, int count) {
    return count >= node.min && (node.dfa == null || node.dfa.accepting(q));
  }

  /**
   * The code point that byte b completes from state lex (assuming the step is allowed), or -1
   * when it completes none (a character or escape is still open, or b is a quote).
   */
  static int completedCodePoint(long lex, int b) {
    int sub = sub(lex);
    int acc = (int) ((lex >>> 5) & 0x1FFFFF);
    switch (sub) {
      case NORMAL:
        return b >= 0x20 && b < 0x80 && b != '"' && b != '\\' ? b : -1;
      case ESC:
        return switch (b) {
          case '"', '\\', '/' -> b;
          case 'b' -> '\b';
          case 'f' -> '\f';
          case 'n' -> '\n';
          case 'r' -> '\r';
          case 't' -> '\t';
          default -> -1;
        };
      case U0 + 3: {
        int v = acc * 16 + Character.digit(b, 16);
        return v >= 0xD800 && v <= 0xDFFF ? -1 : v;
      }
      case L0 + 3:
        return supplementary((int) ((lex >>> 26) & 0x3FF), acc * 16 + Character.digit(b, 16)
            - 0xDC00);
      case C1:
        return (acc << 6) | (b & 0x3F);
      default:
        return -1;
    }
  }

  static long step(StringNode node, long lex, int count, int b) {
    int sub = sub(lex);
    int acc = (int) ((lex >>> 5) & 0x1FFFFF);
    int hiOff = (int) ((lex >>> 26) & 0x3FF);
    int q = dfaState(lex);
    switch (sub) {
      case OPEN:
        return b == '"' ? pack(NORMAL, 0, 0, node.dfa == null ? 0 : node.dfa.start) : REJECT;
      case NORMAL:
        if (b == '"') {
          return canClose(node, q, count) ? CLOSED : REJECT;
        }
        if (b == '\\') {
          return feasible(node, q, 0, CodePointSet.MAX, count + 1)
              ? START | pack(ESC, 0, 0, q) : REJECT;
        }
        if (b < 0x20) {
          return REJECT;
        }
        if (b < 0x80) {
          return complete(node, q, b, count + 1, START);
        }
        if (b >= 0xC2 && b <= 0xDF) {
          return partial(node, C1, b & 0x1F, q, count + 1, START);
        }
        if (b >= 0xE0 && b <= 0xEF) {
          int s = b == 0xE0 ? C2_E0 : b == 0xED ? C2_ED : C2;
          return partial(node, s, b & 0x0F, q, count + 1, START);
        }
        if (b >= 0xF0 && b <= 0xF4) {
          int s = b == 0xF0 ? C3_F0 : b == 0xF4 ? C3_F4 : C3;
          return partial(node, s, b & 0x07, q, count + 1, START);
        }
        return REJECT;
      case ESC:
        return switch (b) {
          case '"' -> complete(node, q, '"', count, 0);
          case '\\' -> complete(node, q, '\\', count, 0);
          case '/' -> complete(node, q, '/', count, 0);
          case 'b' -> complete(node, q, '\b', count, 0);
          case 'f' -> complete(node, q, '\f', count, 0);
          case 'n' -> complete(node, q, '\n', count, 0);
          case 'r' -> complete(node, q, '\r', count, 0);
          case 't' -> complete(node, q, '\t', count, 0);
          case 'u' -> pack(U0, 0, 0, q);
          default -> REJECT;
        };
      case U0:
      case U0 + 1:
      case U0 + 2:
      case U0 + 3: {
        int d = Character.digit(b, 16);
        if (d < 0) {
          return REJECT;
        }
        int v = acc * 16 + d;
        int digits = sub - U0 + 1;
        if (digits < 4) {
          int shift = 4 * (4 - digits);
          int lo = v << shift;
          int hi = lo | ((1 << shift) - 1);
          boolean ok = (lo <= 0xD7FF || hi >= 0xE000)
              && feasible(node, q, lo, Math.min(hi, 0xFFFF), count);
          if (!ok && lo <= 0xDBFF && hi >= 0xD800) { // some high surrogate: a pair may follow
            ok = feasible(node, q, supplementary(Math.max(lo, 0xD800) - 0xD800, 0),
                supplementary(Math.min(hi, 0xDBFF) - 0xD800, 0x3FF), count);
          }
          return ok ? pack(U0 + digits, v, 0, q) : REJECT;
        }
        if (v >= 0xD800 && v <= 0xDBFF) {
          int h = v - 0xD800;
          return feasible(node, q, supplementary(h, 0), supplementary(h, 0x3FF), count)
              ? pack(HS, 0, h, q) : REJECT;
        }
        if (v >= 0xDC00 && v <= 0xDFFF) {
          return REJECT; // a lone low surrogate
        }
        return complete(node, q, v, count, 0);
      }
      case HS:
        return b == '\\' ? pack(HSU, 0, hiOff, q) : REJECT;
      case HSU:
        return b == 'u' ? pack(L0, 0, hiOff, q) : REJECT;
      case L0:
        return b == 'D' || b == 'd' ? pack(L0 + 1, 0xD, hiOff, q) : REJECT;
      case L0 + 1:
      case L0 + 2:
      case L0 + 3: {
        int d = Character.digit(b, 16);
        if (d < 0 || sub == L0 + 1 && d < 0xC) {
          return REJECT;
        }
        int v = acc * 16 + d;
        if (sub == L0 + 3) {
          return complete(node, q, supplementary(hiOff, v - 0xDC00), count, 0);
        }
        int shift = sub == L0 + 1 ? 8 : 4;
        int lo = (v << shift) - 0xDC00;
        int hi = lo + (1 << shift) - 1;
        return feasible(node, q, supplementary(hiOff, lo), supplementary(hiOff, hi), count)
            ? pack(sub + 1, v, hiOff, q) : REJECT;
      }
      case C1:
        return b >= 0x80 && b <= 0xBF ? complete(node, q, (acc << 6) | (b & 0x3F), count, 0)
            : REJECT;
      case C2:
      case C2_E0:
      case C2_ED: {
        int lo = sub == C2_E0 ? 0xA0 : 0x80;
        int hi = sub == C2_ED ? 0x9F : 0xBF;
        return b >= lo && b <= hi ? partial(node, C1, (acc << 6) | (b & 0x3F), q, count, 0)
            : REJECT;
      }
      case C3:
      case C3_F0:
      case C3_F4: {
        int lo = sub == C3_F0 ? 0x90 : 0x80;
        int hi = sub == C3_F4 ? 0x8F : 0xBF;
        return b >= lo && b <= hi ? partial(node, C2, (acc << 6) | (b & 0x3F), q, count, 0)
            : REJECT;
      }
      default:
        return REJECT;
    }
  }

  private static int supplementary(int hiOff, int lowOff) {
    return 0x10000 + (hiOff << 10) + lowOff;
  }

  /** After a partial UTF-8 character: go on if some character it can become still fits. */
  private static long partial(StringNode node, int sub, int acc, int q, int count, long flag) {
    int left = sub == C1 ? 1 : sub <= C2_ED ? 2 : 3;
    int lo = acc << (6 * left);
    int hi = lo | ((1 << (6 * left)) - 1);
    switch (sub) {
      case C2_E0 -> lo = 0x800;
      case C2_ED -> hi = 0xD7FF;
      case C3_F0 -> lo = 0x10000;
      case C3_F4 -> hi = 0x10FFFF;
      default -> { }
    }
    return feasible(node, q, lo, hi, count) ? flag | pack(sub, acc, 0, q) : REJECT;
  }

  private static long complete(StringNode node, int q, int cp, int count, long flag) {
    if (node.dfa == null) {
      return count <= node.max ? flag | pack(NORMAL, 0, 0, 0) : REJECT;
    }
    int next = node.dfa.next(q, cp);
    return next >= 0 && ok(node, next, count) ? flag | pack(NORMAL, 0, 0, next) : REJECT;
  }

  /** Whether some code point in [lo, hi] keeps the string finishable. */
  private static boolean feasible(StringNode node, int q, int lo, int hi, int count) {
    if (node.dfa == null) {
      return count <= node.max;
    }
    return node.dfa.anyTarget(q, lo, hi, node.reach, count);
  }

  private static boolean ok(StringNode node, int q, int count) {
    return node.reach == null || node.reach.ok(q, count);
  }
}
