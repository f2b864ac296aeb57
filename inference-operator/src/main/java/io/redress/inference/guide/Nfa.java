package io.redress.inference.guide;

import java.util.ArrayList;
import java.util.List;

/**
 * Thompson construction of a {@link Regex}: states with code-point-set edges, epsilon edges
 * and anchor edges ({@code ^} passable only before any input, {@code $} only at its end).
 * {@link CodePointDfa#of} determinizes it.
 */
final class Nfa {

  /** More states than this means a pattern too large to compile (e.g. nested counted repeats). */
  static final int MAX_STATES = 60_000;

  record Edge(CodePointSet set, int target) {}

  final List<List<Edge>> edges = new ArrayList<>();
  final List<int[]> eps = new ArrayList<>();
  final List<int[]> startAnchored = new ArrayList<>();
  final List<int[]> endAnchored = new ArrayList<>();
  final int start;
  final int accept;

  /**
   * @param search true for JSON Schema's {@code pattern} (a match anywhere in the string), false
   *     for a full match
   */
  Nfa(Regex regex, boolean search) throws TooLargeException {
    start = newState();
    int from = start;
    if (search) {
      edge(start, CodePointSet.ALL, start);
    }
    int end = build(regex, from);
    accept = newState();
    link(eps, end, accept);
    if (search) {
      edge(accept, CodePointSet.ALL, accept);
    }
  }

  /** The regex expands to too many states. */
  static final class TooLargeException extends Exception {
    TooLargeException() {
      super("the pattern expands to more than " + MAX_STATES + " automaton states");
    }
  }

  int size() {
    return edges.size();
  }

  private int build(Regex r, int from) throws TooLargeException {
    if (r instanceof Regex.Chars c) {
      int t = newState();
      edge(from, c.set(), t);
      return t;
    }
    if (r instanceof Regex.Seq s) {
      int cur = from;
      for (Regex part : s.parts()) {
        cur = build(part, cur);
      }
      return cur;
    }
    if (r instanceof Regex.Alt a) {
      int end = newState();
      for (Regex alt : a.alternatives()) {
        int s = newState();
        link(eps, from, s);
        link(eps, build(alt, s), end);
      }
      return end;
    }
    if (r instanceof Regex.Repeat rep) {
      int cur = from;
      for (int i = 0; i < rep.min(); i++) {
        cur = build(rep.body(), cur);
      }
      if (rep.max() < 0) {
        int loop = newState();
        link(eps, cur, loop);
        link(eps, build(rep.body(), loop), loop);
        int out = newState();
        link(eps, loop, out);
        return out;
      }
      int out = newState();
      for (int i = rep.min(); i < rep.max(); i++) {
        link(eps, cur, out);
        cur = build(rep.body(), cur);
      }
      link(eps, cur, out);
      return out;
    }
    int t = newState();
    link(r instanceof Regex.Start ? startAnchored : endAnchored, from, t);
    return t;
  }

  private int newState() throws TooLargeException {
    if (edges.size() >= MAX_STATES) {
      throw new TooLargeException();
    }
    edges.add(new ArrayList<>(1));
    eps.add(new int[0]);
    startAnchored.add(new int[0]);
    endAnchored.add(new int[0]);
    return edges.size() - 1;
  }

  private void edge(int from, CodePointSet set, int to) {
    if (!set.isEmpty()) {
      edges.get(from).add(new Edge(set, to));
    }
  }

  private static void link(List<int[]> table, int from, int to) {
    int[] old = table.get(from);
    int[] grown = java.util.Arrays.copyOf(old, old.length + 1);
    grown[old.length] = to;
    table.set(from, grown);
  }
}
