package io.redress.inference.guide;

import java.util.Arrays;

/**
 * An immutable set of Unicode code points as sorted, disjoint, non-adjacent inclusive ranges.
 * The alphabet of patterns and string constraints: {@link #ALL} is every Unicode scalar value
 * (surrogates excluded, since a JSON string never decodes to a lone surrogate here).
 */
final class CodePointSet {

  static final int MAX = 0x10FFFF;
  static final CodePointSet EMPTY = new CodePointSet(new int[0]);
  static final CodePointSet ALL = new CodePointSet(new int[] {0, 0xD7FF, 0xE000, MAX});

  private final int[] ranges; // lo0, hi0, lo1, hi1, ...

  private CodePointSet(int[] ranges) {
    this.ranges = ranges;
  }

  static CodePointSet range(int lo, int hi) {
    if (lo > hi) {
      return EMPTY;
    }
    return new CodePointSet(new int[] {lo, hi}).intersect(ALL);
  }

  static CodePointSet of(int... codePoints) {
    CodePointSet s = EMPTY;
    for (int cp : codePoints) {
      s = s.union(range(cp, cp));
    }
    return s;
  }

  int rangeCount() {
    return ranges.length / 2;
  }

  int lo(int i) {
    return ranges[2 * i];
  }

  int hi(int i) {
    return ranges[2 * i + 1];
  }

  boolean isEmpty() {
    return ranges.length == 0;
  }

  boolean contains(int cp) {
    for (int i = 0; i < ranges.length; i += 2) {
      if (cp < ranges[i]) {
        return false;
      }
      if (cp <= ranges[i + 1]) {
        return true;
      }
    }
    return false;
  }

  /** Whether any member lies in [lo, hi]. */
  boolean intersects(int lo, int hi) {
    for (int i = 0; i < ranges.length; i += 2) {
      if (ranges[i] <= hi && ranges[i + 1] >= lo) {
        return true;
      }
    }
    return false;
  }

  CodePointSet union(CodePointSet o) {
    int[] all = new int[ranges.length + o.ranges.length];
    System.arraycopy(ranges, 0, all, 0, ranges.length);
    System.arraycopy(o.ranges, 0, all, ranges.length, o.ranges.length);
    return normalize(all);
  }

  CodePointSet intersect(CodePointSet o) {
    int[] out = new int[ranges.length + o.ranges.length];
    int n = 0;
    int i = 0;
    int j = 0;
    while (i < ranges.length && j < o.ranges.length) {
      int lo = Math.max(ranges[i], o.ranges[j]);
      int hi = Math.min(ranges[i + 1], o.ranges[j + 1]);
      if (lo <= hi) {
        out[n++] = lo;
        out[n++] = hi;
      }
      if (ranges[i + 1] < o.ranges[j + 1]) {
        i += 2;
      } else {
        j += 2;
      }
    }
    return new CodePointSet(Arrays.copyOf(out, n));
  }

  /** The scalar values not in this set. */
  CodePointSet complement() {
    int[] out = new int[ranges.length + 2];
    int n = 0;
    int next = 0;
    for (int i = 0; i < ranges.length; i += 2) {
      if (ranges[i] > next) {
        out[n++] = next;
        out[n++] = ranges[i] - 1;
      }
      next = ranges[i + 1] + 1;
    }
    if (next <= MAX) {
      out[n++] = next;
      out[n++] = MAX;
    }
    return new CodePointSet(Arrays.copyOf(out, n)).intersect(ALL);
  }

  private static CodePointSet normalize(int[] pairs) {
    int count = pairs.length / 2;
    long[] packed = new long[count];
    for (int i = 0; i < count; i++) {
      packed[i] = ((long) pairs[2 * i] << 32) | (pairs[2 * i + 1] & 0xFFFFFFFFL);
    }
    Arrays.sort(packed);
    int[] out = new int[pairs.length];
    int n = 0;
    for (long p : packed) {
      int lo = (int) (p >>> 32);
      int hi = (int) p;
      if (n > 0 && lo <= out[n - 1] + 1) {
        out[n - 1] = Math.max(out[n - 1], hi);
      } else {
        out[n++] = lo;
        out[n++] = hi;
      }
    }
    return new CodePointSet(Arrays.copyOf(out, n));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CodePointSet s && Arrays.equals(ranges, s.ranges);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(ranges);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < ranges.length; i += 2) {
      sb.append(String.format("%X-%X ", ranges[i], ranges[i + 1]));
    }
    return sb.append(']').toString();
  }
}
