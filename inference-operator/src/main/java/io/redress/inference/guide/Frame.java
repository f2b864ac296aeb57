package io.redress.inference.guide;

/**
 * One entry of a matcher stack: where we are inside one value. Immutable; equal frames are
 * interchangeable. Fields by kind:
 *
 * <pre>
 * kind  phase                         a                        lex
 * DOC   0 value pending, 1 done       -                        -
 * OBJ   O_* (see Automaton)           property index / idx     member count (high half);
 *                                                              key trie node (O_KEY) or
 *                                                              extra member kind (O_XKEY,
 *                                                              O_COLON) (low half)
 * ARR   A_*                           items so far             -
 * STR   -                             code points so far       StringLexer state
 * NUM   -                             automaton state          -
 * LIT   -                             trie node                -
 * </pre>
 *
 * <p>{@code aux}: for an object in its extra properties, the {@link UsedKeys} so far; for the
 * string of an extra key, the key decoded so far (to refuse a duplicate at its closing quote).
 */
final class Frame {

  static final int DOC = 0;
  static final int OBJ = 1;
  static final int ARR = 2;
  static final int STR = 3;
  static final int NUM = 4;
  static final int LIT = 5;

  final int kind;
  final int node;
  final int phase;
  final int a;
  final long lex;
  final Object aux;

  Frame(int kind, int node, int phase, int a, long lex) {
    this(kind, node, phase, a, lex, null);
  }

  Frame(int kind, int node, int phase, int a, long lex, Object aux) {
    this.kind = kind;
    this.node = node;
    this.phase = phase;
    this.a = a;
    this.lex = lex;
    this.aux = aux;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Frame f && f.kind == kind && f.node == node && f.phase == phase
        && f.a == a && f.lex == lex && java.util.Objects.equals(f.aux, aux);
  }

  @Override
  public int hashCode() {
    int h = kind;
    h = h * 31 + node;
    h = h * 31 + phase;
    h = h * 31 + a;
    h = h * 31 + Long.hashCode(lex);
    return aux == null ? h : h * 31 + aux.hashCode();
  }

  @Override
  public String toString() {
    String[] kinds = {"DOC", "OBJ", "ARR", "STR", "NUM", "LIT"};
    return kinds[kind] + "(n" + node + " p" + phase + " a" + a + " x" + Long.toHexString(lex)
        + ")";
  }
}
