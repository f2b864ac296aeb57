package io.redress.inference.guide;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A deterministic automaton over code points, trimmed: every state can still reach an accepting
 * one, so a transition that exists never leads to a dead end. Built from a {@link Regex}
 * (subset construction), intersected (product) for numeric ranges, or made to exclude a finite
 * set of strings (object keys). Immutable and thread-safe.
 */
final class CodePointDfa {

  /** More DFA states than this: the pattern is rejected as too complex. */
  static final int MAX_STATES = 4096;

  /** The start state, or -1 when the language is empty. */
  final int start;
  private final boolean[] accepting;
  private final int[][] lo;
  private final int[][] hi;
  private final int[][] to;
  private final int[][] ascii; // (states, 128) next state or -1

  private CodePointDfa(int start, boolean[] accepting, int[][] lo, int[][] hi, int[][] to) {
    this.start = start;
    this.accepting = accepting;
    this.lo = lo;
    this.hi = hi;
    this.to = to;
    this.ascii = new int[accepting.length][128];
    for (int q = 0; q < accepting.length; q++) {
      Arrays.fill(ascii[q], -1);
      for (int i = 0; i < lo[q].length && lo[q][i] < 128; i++) {
        for (int c = lo[q][i]; c <= Math.min(hi[q][i], 127); c++) {
          ascii[q][c] = to[q][i];
        }
      }
    }
  }

  /** The automaton is too large to build. */
  static final class TooLargeException extends Exception {
    TooLargeException(String message) {
      super(message);
    }
  }

  int size() {
    return accepting.length;
  }

  boolean isEmpty() {
    return start < 0;
  }

  boolean accepting(int q) {
    return accepting[q];
  }

  /** The next state on a code point, -1 if none. */
  int next(int q, int cp) {
    if (cp < 128) {
      return ascii[q][cp];
    }
    int[] l = lo[q];
    int a = 0;
    int b = l.length - 1;
    while (a <= b) {
      int m = (a + b) >>> 1;
      if (l[m] > cp) {
        b = m - 1;
      } else if (hi[q][m] < cp) {
        a = m + 1;
      } else {
        return to[q][m];
      }
    }
    return -1;
  }

  /**
   * Whether some code point in [from, until] leads from q to a state where a string with
   * {@code count} code points can still be finished (any live state when {@code reach} is null).
   */
  boolean anyTarget(int q, int from, int until, LengthReach reach, int count) {
    int[] l = lo[q];
    int[] h = hi[q];
    for (int i = 0; i < l.length && l[i] <= until; i++) {
      if (h[i] >= from && (reach == null || reach.ok(to[q][i], count))) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether q accepts and every code point leads back to q: from here the string is free, as if
   * it had no pattern (the state of an extra key once it differs from every declared name).
   */
  boolean isUniversal(int q) {
    return accepting[q] && lo[q].length == 2 && lo[q][0] == 0 && hi[q][0] == 0xD7FF
        && lo[q][1] == 0xE000 && hi[q][1] == CodePointSet.MAX && to[q][0] == q && to[q][1] == q;
  }

  /** Whether any code point leads on from q. */
  boolean hasTransitions(int q) {
    return lo[q].length > 0;
  }

  /** The states one code point away from q. */
  int[] successors(int q) {
    return Arrays.stream(to[q]).distinct().toArray();
  }

  /** Whether the whole string is in the language. */
  boolean accepts(String s) {
    int q = start;
    for (int i = 0; q >= 0 && i < s.length(); ) {
      int cp = s.codePointAt(i);
      q = next(q, cp);
      i += Character.charCount(cp);
    }
    return q >= 0 && accepting[q];
  }

  /** Determinizes a regex; {@code search} for JSON Schema's unanchored {@code pattern}. */
  static CodePointDfa of(Regex regex, boolean search) throws TooLargeException {
    return DfaBuilder.determinize(regex, search);
  }

  /** Strings that are none of {@code excluded}: the keys an object may add beyond its own. */
  static CodePointDfa excluding(List<String> excluded) {
    return DfaBuilder.excluding(excluded);
  }

  /** The product automaton: strings in both languages. */
  static CodePointDfa intersect(CodePointDfa a, CodePointDfa b) {
    return product(a, b, INTERSECT);
  }

  /** The product automaton for the union: strings in either language. */
  static CodePointDfa union(CodePointDfa a, CodePointDfa b) {
    return product(a, b, UNION);
  }

  /** The product automaton for the difference: strings of {@code a} that {@code b} refuses. */
  static CodePointDfa minus(CodePointDfa a, CodePointDfa b) {
    return product(a, b, MINUS);
  }

  private static final int INTERSECT = 0;
  private static final int UNION = 1;
  private static final int MINUS = 2;

  private static CodePointDfa product(CodePointDfa a, CodePointDfa b, int op) {
    if (op == INTERSECT && (a.isEmpty() || b.isEmpty()) || op == MINUS && a.isEmpty()) {
      return trimmed(0, new boolean[] {false}, List.<int[][]>of(new int[0][]));
    }
    Map<Long, Integer> ids = new HashMap<>();
    List<int[]> pairs = new ArrayList<>();
    ArrayDeque<Integer> work = new ArrayDeque<>();
    ids.put(pair(a.start, b.start), 0);
    pairs.add(new int[] {a.start, b.start});
    work.add(0);
    List<int[][]> trans = new ArrayList<>();
    while (!work.isEmpty()) {
      int id = work.poll();
      int p = pairs.get(id)[0];
      int q = pairs.get(id)[1];
      TreeSet<Integer> bounds = new TreeSet<>();
      if (p >= 0) {
        a.addBounds(p, bounds);
      }
      if (q >= 0) {
        b.addBounds(q, bounds);
      }
      List<int[]> ranges = new ArrayList<>();
      Integer[] bs = bounds.toArray(new Integer[0]);
      for (int i = 0; i + 1 < bs.length; i++) {
        int np = p >= 0 ? a.next(p, bs[i]) : -1;
        int nq = q >= 0 ? b.next(q, bs[i]) : -1;
        if (op == UNION ? np < 0 && nq < 0 : op == MINUS ? np < 0 : np < 0 || nq < 0) {
          continue;
        }
        long key = pair(np, nq);
        Integer nid = ids.get(key);
        if (nid == null) {
          nid = pairs.size();
          ids.put(key, nid);
          pairs.add(new int[] {np, nq});
          work.add(nid);
        }
        ranges.add(new int[] {bs[i], bs[i + 1] - 1, nid});
      }
      while (trans.size() <= id) {
        trans.add(null);
      }
      trans.set(id, ranges.toArray(new int[0][]));
    }
    boolean[] acc = new boolean[pairs.size()];
    for (int k = 0; k < acc.length; k++) {
      int p = pairs.get(k)[0];
      int q = pairs.get(k)[1];
      boolean ap = p >= 0 && a.accepting[p];
      boolean aq = q >= 0 && b.accepting[q];
      acc[k] = op == UNION ? ap || aq : op == MINUS ? ap && !aq : ap && aq;
    }
    return trimmed(0, acc, trans);
  }

  private void addBounds(int q, TreeSet<Integer> bounds) {
    for (int i = 0; i < lo[q].length; i++) {
      bounds.add(lo[q][i]);
      bounds.add(hi[q][i] + 1);
    }
  }

  private static long pair(int p, int q) {
    return ((long) p << 32) | (q & 0xFFFFFFFFL);
  }

  /** Drops states that cannot reach acceptance and renumbers the rest. */
  static CodePointDfa trimmed(int start, boolean[] acc, List<int[][]> trans) {
    int n = acc.length;
    List<List<Integer>> rev = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      rev.add(new ArrayList<>());
    }
    for (int q = 0; q < n; q++) {
      for (int[] r : trans.get(q)) {
        rev.get(r[2]).add(q);
      }
    }
    boolean[] live = new boolean[n];
    ArrayDeque<Integer> work = new ArrayDeque<>();
    for (int q = 0; q < n; q++) {
      if (acc[q]) {
        live[q] = true;
        work.add(q);
      }
    }
    while (!work.isEmpty()) {
      for (int p : rev.get(work.poll())) {
        if (!live[p]) {
          live[p] = true;
          work.add(p);
        }
      }
    }
    if (!live[start]) {
      return new CodePointDfa(-1, new boolean[0], new int[0][], new int[0][], new int[0][]);
    }
    int[] renumber = new int[n];
    int m = 0;
    for (int q = 0; q < n; q++) {
      renumber[q] = live[q] ? m++ : -1;
    }
    boolean[] acc2 = new boolean[m];
    int[][] lo = new int[m][];
    int[][] hi = new int[m][];
    int[][] to = new int[m][];
    for (int q = 0; q < n; q++) {
      if (!live[q]) {
        continue;
      }
      int r = renumber[q];
      acc2[r] = acc[q];
      int[][] ranges = Arrays.stream(trans.get(q)).filter(x -> live[x[2]]).toArray(int[][]::new);
      lo[r] = Arrays.stream(ranges).mapToInt(x -> x[0]).toArray();
      hi[r] = Arrays.stream(ranges).mapToInt(x -> x[1]).toArray();
      to[r] = Arrays.stream(ranges).mapToInt(x -> renumber[x[2]]).toArray();
    }
    return new CodePointDfa(renumber[start], acc2, lo, hi, to);
  }

}
