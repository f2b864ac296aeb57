package io.redress.inference.guide;

import io.redress.inference.guide.Grammar.ArrayNode;
import io.redress.inference.guide.Grammar.StringNode;
import java.util.Arrays;

/**
 * A matcher state reduced to what decides its mask, as a hashable int array. Counters are
 * capped where the exact value cannot matter within one token: a token of at most T bytes
 * starts at most T code points or array items, so "T + 1 or more left" behaves like "unbounded"
 * (pattern strings add the automaton's size, past which a path's length can always be
 * adjusted; with both a minimum and a maximum left they stay exact). Thousands of steps inside a
 * long string thus share one key.
 */
final class StateKey {

  private static final int USED_KEYS = Integer.MIN_VALUE + 1;
  private static final int CANDIDATES = Integer.MIN_VALUE + 2;

  private final int[] words;
  private final int hash;

  private StateKey(int[] words) {
    this.words = words;
    this.hash = Arrays.hashCode(words);
  }

  static StateKey of(Automaton automaton, Stack[] state, int maxTokenBytes) {
    IntBuffer out = new IntBuffer();
    for (Stack s : state) {
      out.add(-1);
      for (Stack x = s; x != null; x = x.rest) {
        frame(automaton, x, maxTokenBytes, out);
      }
    }
    return new StateKey(out.toArray());
  }

  static StateKey of(Automaton automaton, Stack stack, int maxTokenBytes) {
    return of(automaton, new Stack[] {stack}, maxTokenBytes);
  }

  private static void frame(Automaton automaton, Stack x, int t, IntBuffer out) {
    Frame f = x.top;
    int[] candidates = null;
    long lex = f.lex;
    int a = f.a;
    if (f.kind == Frame.STR) {
      StringNode n = automaton.str(f);
      // An extra key that may still turn into a used one keeps its exact length.
      candidates = n.extraKey && x.rest != null && x.rest.top.aux != null
          ? extraKeyCandidates(f, x.rest) : null;
      if (candidates != null) {
        a = f.a;
      } else if (n.dfa == null) {
        lex = StringLexer.plainState(lex);
        a = counters(n.min - a, n.max, a, t + 1);
      } else if (n.reach == null) {
        a = 0;
      } else if (!(n.min > a && n.max != Integer.MAX_VALUE)) {
        a = (1 << 30) | counters(n.min - a, n.max, a, t + 1 + n.dfa.size()); // not an exact count
      }
    } else if (f.kind == Frame.ARR) {
      ArrayNode n = (ArrayNode) automaton.grammar.node(f.node);
      if (a >= n.prefix.length) {
        a = (1 << 30) | counters(n.min - a, n.max, a, t + 1);
      }
    }
    out.add(f.kind | f.phase << 4);
    out.add(f.node);
    out.add(a);
    out.add((int) lex);
    out.add((int) (lex >>> 32));
    if (f.kind == Frame.OBJ && f.aux != null) {
      UsedKeys used = (UsedKeys) f.aux;
      out.add(USED_KEYS);
      out.add(used.size);
      for (UsedKeys u = used; u != null; u = u.next) {
        out.add(u.key.length());
        u.key.chars().forEach(out::add);
      }
    }
    if (candidates != null) {
      out.add(CANDIDATES);
      out.add(candidates.length);
      for (int c : candidates) {
        out.add(c);
      }
    }
  }

  /**
   * For an extra key being written: the used keys of its object it may still turn into (the
   * text so far is their prefix), as (index, chars left) pairs; null if none.
   */
  private static int[] extraKeyCandidates(Frame key, Stack wait) {
    String text = key.aux == null ? "" : (String) key.aux;
    IntBuffer pairs = new IntBuffer();
    int i = 0;
    for (UsedKeys u = (UsedKeys) wait.top.aux; u != null; u = u.next, i++) {
      if (u.key.startsWith(text)) {
        pairs.add(i);
        pairs.add(u.key.length() - text.length());
      }
    }
    int[] a = pairs.toArray();
    return a.length == 0 ? null : a;
  }

  /** (needed, left) each capped at {@code cap}, packed. */
  private static int counters(int needed, int max, int count, int cap) {
    int need = Math.max(0, Math.min(needed, cap));
    long left = max == Integer.MAX_VALUE ? cap : Math.max(0, Math.min((long) max - count, cap));
    return need * (cap + 1) + (int) left;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof StateKey k && k.hash == hash && Arrays.equals(k.words, words);
  }

  @Override
  public int hashCode() {
    return hash;
  }
}
