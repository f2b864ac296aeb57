package io.redress.inference.guide;

import java.util.BitSet;

/**
 * For a pattern automaton with minLength/maxLength: whether a string can still be finished from a
 * state with a given number of code points already counted, i.e. some accepting path of length
 * l exists with {@code min <= count + l <= max}. Precomputed per state as the set of accepting
 * path lengths below a bound past which the answer no longer changes.
 */
final class LengthReach {

  /** Beyond this many (state x length) bits the schema is rejected as too large. */
  static final long MAX_BITS = 32L << 20;

  private final int min;
  private final int max; // Integer.MAX_VALUE: unbounded
  private final int limit; // lengths [0, limit) are tabulated
  private final BitSet[] reach;

  private LengthReach(int min, int max, int limit, BitSet[] reach) {
    this.min = min;
    this.max = max;
    this.limit = limit;
    this.reach = reach;
  }

  /** Null when no length limit applies (every live state can always finish). */
  static LengthReach of(CodePointDfa dfa, int min, int max) {
    if (min == 0 && max == Integer.MAX_VALUE) {
      return null;
    }
    int n = dfa.size();
    // With no maximum, a path of length >= min + n implies one in [min + 1, min + n]: pumping.
    long limit = max == Integer.MAX_VALUE ? (long) min + n + 1 : (long) max + 1;
    if (limit * n > MAX_BITS) {
      return new LengthReach(min, max, -1, null);
    }
    BitSet[] reach = new BitSet[n];
    int[][] succ = new int[n][];
    for (int q = 0; q < n; q++) {
      reach[q] = new BitSet((int) limit);
      succ[q] = dfa.successors(q);
      if (dfa.accepting(q)) {
        reach[q].set(0);
      }
    }
    for (int l = 1; l < limit; l++) {
      for (int q = 0; q < n; q++) {
        for (int t : succ[q]) {
          if (reach[t].get(l - 1)) {
            reach[q].set(l);
            break;
          }
        }
      }
    }
    return new LengthReach(min, max, (int) limit, reach);
  }

  /** Whether the tables could be built (false: limits too large for the pattern's size). */
  boolean tabulated() {
    return reach != null;
  }

  /** Whether a string in state q with {@code count} code points so far can still be finished. */
  boolean ok(int q, int count) {
    if (count > max) {
      return false;
    }
    int lo = Math.max(0, min - count);
    long hi = max == Integer.MAX_VALUE ? limit - 1L : (long) max - count;
    if (lo > hi || lo >= limit) {
      return false;
    }
    int l = reach[q].nextSetBit(lo);
    return l >= 0 && l <= hi;
  }
}
