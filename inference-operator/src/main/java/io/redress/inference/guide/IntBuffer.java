package io.redress.inference.guide;

import java.util.Arrays;

/** A growable int array (mask id lists, state keys). */
final class IntBuffer {
  private int[] a = new int[64];
  private int n;

  void add(int v) {
    if (n == a.length) {
      a = Arrays.copyOf(a, n * 2);
    }
    a[n++] = v;
  }

  int[] toArray() {
    return Arrays.copyOf(a, n);
  }
}
