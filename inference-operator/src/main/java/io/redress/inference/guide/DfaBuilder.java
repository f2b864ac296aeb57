package io.redress.inference.guide;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Builds {@link CodePointDfa}s: subset construction from a regex's {@link Nfa} (states are sets
 * of NFA states plus "nothing read yet", for {@code ^}; acceptance follows {@code $} edges), and
 * the automaton of "any string but these" for extra object keys.
 */
final class DfaBuilder {

  private DfaBuilder() {}

  /** Determinizes a regex; {@code search} for JSON Schema's unanchored {@code pattern}. */
  static CodePointDfa determinize(Regex regex, boolean search)
      throws CodePointDfa.TooLargeException {
    Nfa nfa;
    try {
      nfa = new Nfa(regex, search);
    } catch (Nfa.TooLargeException e) {
      throw new CodePointDfa.TooLargeException(e.getMessage());
    }
    Map<Key, Integer> ids = new HashMap<>();
    List<Key> keys = new ArrayList<>();
    ArrayDeque<Integer> work = new ArrayDeque<>();
    Key first = new Key(closure(nfa, new int[] {nfa.start}, true), true);
    ids.put(first, 0);
    keys.add(first);
    work.add(0);
    List<int[][]> trans = new ArrayList<>();
    while (!work.isEmpty()) {
      int id = work.poll();
      Key key = keys.get(id);
      List<Nfa.Edge> out = new ArrayList<>();
      TreeSet<Integer> bounds = new TreeSet<>();
      for (int s : key.states) {
        for (Nfa.Edge e : nfa.edges.get(s)) {
          out.add(e);
          for (int i = 0; i < e.set().rangeCount(); i++) {
            bounds.add(e.set().lo(i));
            bounds.add(e.set().hi(i) + 1);
          }
        }
      }
      List<int[]> ranges = new ArrayList<>();
      Integer[] b = bounds.toArray(new Integer[0]);
      for (int i = 0; i + 1 < b.length; i++) {
        int cp = b[i];
        BitSet targets = new BitSet();
        for (Nfa.Edge e : out) {
          if (e.set().contains(cp)) {
            targets.set(e.target());
          }
        }
        if (targets.isEmpty()) {
          continue;
        }
        Key next = new Key(closure(nfa, targets.stream().toArray(), false), false);
        Integer nid = ids.get(next);
        if (nid == null) {
          if (keys.size() >= CodePointDfa.MAX_STATES) {
            throw new CodePointDfa.TooLargeException("the pattern needs more than " + CodePointDfa.MAX_STATES
                + " automaton states");
          }
          nid = keys.size();
          ids.put(next, nid);
          keys.add(next);
          work.add(nid);
        }
        int[] last = ranges.isEmpty() ? null : ranges.get(ranges.size() - 1);
        if (last != null && last[2] == nid && last[1] + 1 == cp) {
          last[1] = b[i + 1] - 1;
        } else {
          ranges.add(new int[] {cp, b[i + 1] - 1, nid});
        }
      }
      while (trans.size() <= id) {
        trans.add(null);
      }
      trans.set(id, ranges.toArray(new int[0][]));
    }
    boolean[] acc = new boolean[keys.size()];
    for (int i = 0; i < acc.length; i++) {
      acc[i] = acceptsAtEnd(nfa, keys.get(i));
    }
    return CodePointDfa.trimmed(0, acc, trans);
  }

  /** Strings that are none of {@code excluded}: the keys an object may add beyond its own. */
  static CodePointDfa excluding(List<String> excluded) {
    List<Map<Integer, Integer>> children = new ArrayList<>();
    List<Boolean> terminal = new ArrayList<>();
    children.add(new HashMap<>());
    terminal.add(false);
    for (String s : excluded) {
      int node = 0;
      for (int cp : s.codePoints().toArray()) {
        Integer child = children.get(node).get(cp);
        if (child == null) {
          child = children.size();
          children.add(new HashMap<>());
          terminal.add(false);
          children.get(node).put(cp, child);
        }
        node = child;
      }
      terminal.set(node, true);
    }
    int other = children.size();
    boolean[] acc = new boolean[other + 1];
    List<int[][]> trans = new ArrayList<>();
    for (int q = 0; q < other; q++) {
      acc[q] = !terminal.get(q);
      CodePointSet own = CodePointSet.EMPTY;
      List<int[]> ranges = new ArrayList<>();
      for (Map.Entry<Integer, Integer> e : children.get(q).entrySet()) {
        own = own.union(CodePointSet.of(e.getKey()));
        ranges.add(new int[] {e.getKey(), e.getKey(), e.getValue()});
      }
      CodePointSet rest = own.complement();
      for (int i = 0; i < rest.rangeCount(); i++) {
        ranges.add(new int[] {rest.lo(i), rest.hi(i), other});
      }
      ranges.sort((x, y) -> Integer.compare(x[0], y[0]));
      trans.add(ranges.toArray(new int[0][]));
    }
    acc[other] = true;
    trans.add(new int[][] {{0, 0xD7FF, other}, {0xE000, CodePointSet.MAX, other}});
    return CodePointDfa.trimmed(0, acc, trans);
  }

  private record Key(int[] states, boolean atStart) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Key k && k.atStart == atStart && Arrays.equals(k.states, states);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(states) * 2 + (atStart ? 1 : 0);
    }
  }

  private static int[] closure(Nfa nfa, int[] seeds, boolean atStart) {
    BitSet seen = new BitSet();
    ArrayDeque<Integer> work = new ArrayDeque<>();
    for (int s : seeds) {
      if (!seen.get(s)) {
        seen.set(s);
        work.add(s);
      }
    }
    while (!work.isEmpty()) {
      int s = work.poll();
      for (int t : nfa.eps.get(s)) {
        if (!seen.get(t)) {
          seen.set(t);
          work.add(t);
        }
      }
      if (atStart) {
        for (int t : nfa.startAnchored.get(s)) {
          if (!seen.get(t)) {
            seen.set(t);
            work.add(t);
          }
        }
      }
    }
    return seen.stream().toArray();
  }

  /** Whether the input may end here: the closure through {@code $} (and {@code ^} at start). */
  private static boolean acceptsAtEnd(Nfa nfa, Key key) {
    BitSet seen = new BitSet();
    ArrayDeque<Integer> work = new ArrayDeque<>();
    for (int s : key.states) {
      seen.set(s);
      work.add(s);
    }
    while (!work.isEmpty()) {
      int s = work.poll();
      if (s == nfa.accept) {
        return true;
      }
      List<int[]> tables = key.atStart
          ? List.of(nfa.eps.get(s), nfa.endAnchored.get(s), nfa.startAnchored.get(s))
          : List.of(nfa.eps.get(s), nfa.endAnchored.get(s));
      for (int[] table : tables) {
        for (int t : table) {
          if (!seen.get(t)) {
            seen.set(t);
            work.add(t);
          }
        }
      }
    }
    return false;
  }
}
