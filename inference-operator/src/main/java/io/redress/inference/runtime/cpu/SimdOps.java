package io.redress.inference.runtime.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link VecOps} with SIMD through {@code jdk.incubator.vector}, loaded only when the JVM runs
 * with {@code --add-modules jdk.incubator.vector}. The linear-layer kernels compute exactly what
 * the scalar ones do (one sequential fused multiply-add chain per output), only 8 or 16 outputs
 * at a time, so the two paths give identical logits.
 */
final class SimdOps {

  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  private static final int L = S.length();

  private SimdOps() {}

  /** See {@link VecOps#pass4}: a 4-token x 4-vector register tile, then narrower tails. */
  static void pass4(float[] wt, int rows, int cols, float[] x, int t, int r0, int width,
      float[] acc) {
    int x0 = t * cols;
    int j = 0;
    for (; j + 4 * L <= width; j += 4 * L) {
      tile4x4(wt, rows, cols, x, x0, r0 + j, acc, j, width);
    }
    for (int k = 0; k < 4; k++) {
      pass1From(wt, rows, cols, x, t + k, r0, width, acc, k * width, j);
    }
  }

  private static void tile4x4(float[] wt, int rows, int cols, float[] x, int x0, int r,
      float[] acc, int j, int width) {
    int x1 = x0 + cols;
    int x2 = x1 + cols;
    int x3 = x2 + cols;
    FloatVector a00 = FloatVector.zero(S), a01 = a00, a02 = a00, a03 = a00;
    FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    for (int c = 0; c < cols; c++) {
      int w = c * rows + r;
      FloatVector w0 = FloatVector.fromArray(S, wt, w);
      FloatVector w1 = FloatVector.fromArray(S, wt, w + L);
      FloatVector w2 = FloatVector.fromArray(S, wt, w + 2 * L);
      FloatVector w3 = FloatVector.fromArray(S, wt, w + 3 * L);
      FloatVector v = FloatVector.broadcast(S, x[x0 + c]);
      a00 = w0.fma(v, a00);
      a01 = w1.fma(v, a01);
      a02 = w2.fma(v, a02);
      a03 = w3.fma(v, a03);
      v = FloatVector.broadcast(S, x[x1 + c]);
      a10 = w0.fma(v, a10);
      a11 = w1.fma(v, a11);
      a12 = w2.fma(v, a12);
      a13 = w3.fma(v, a13);
      v = FloatVector.broadcast(S, x[x2 + c]);
      a20 = w0.fma(v, a20);
      a21 = w1.fma(v, a21);
      a22 = w2.fma(v, a22);
      a23 = w3.fma(v, a23);
      v = FloatVector.broadcast(S, x[x3 + c]);
      a30 = w0.fma(v, a30);
      a31 = w1.fma(v, a31);
      a32 = w2.fma(v, a32);
      a33 = w3.fma(v, a33);
    }
    store4(acc, j, a00, a01, a02, a03);
    store4(acc, width + j, a10, a11, a12, a13);
    store4(acc, 2 * width + j, a20, a21, a22, a23);
    store4(acc, 3 * width + j, a30, a31, a32, a33);
  }

  /** See {@link VecOps#pass1}. */
  static void pass1(float[] wt, int rows, int cols, float[] x, int t, int r0, int width,
      float[] acc, int a) {
    pass1From(wt, rows, cols, x, t, r0, width, acc, a, 0);
  }

  /** One token, outputs [from, width) of the tile: vectors of 4L, then L, then scalars. */
  private static void pass1From(float[] wt, int rows, int cols, float[] x, int t, int r0,
      int width, float[] acc, int a, int from) {
    int j = from;
    for (; j + 4 * L <= width; j += 4 * L) {
      wide1(wt, rows, cols, x, t * cols, r0 + j, acc, a + j);
    }
    for (; j + L <= width; j += L) {
      narrow1(wt, rows, cols, x, t * cols, r0 + j, acc, a + j);
    }
    if (j < width) {
      VecOps.pass1Scalar(wt, rows, cols, x, t, r0 + j, width - j, acc, a + j);
    }
  }

  // Separate small methods: the Vector API is only fast when C2 inlines every call into one
  // compiled body, which a large method can exhaust its inlining budget before doing.
  private static void wide1(float[] wt, int rows, int cols, float[] x, int xo, int r,
      float[] acc, int at) {
    FloatVector a0 = FloatVector.zero(S);
    FloatVector a1 = a0;
    FloatVector a2 = a0;
    FloatVector a3 = a0;
    for (int c = 0; c < cols; c++) {
      int w = c * rows + r;
      FloatVector v = FloatVector.broadcast(S, x[xo + c]);
      a0 = FloatVector.fromArray(S, wt, w).fma(v, a0);
      a1 = FloatVector.fromArray(S, wt, w + L).fma(v, a1);
      a2 = FloatVector.fromArray(S, wt, w + 2 * L).fma(v, a2);
      a3 = FloatVector.fromArray(S, wt, w + 3 * L).fma(v, a3);
    }
    store4(acc, at, a0, a1, a2, a3);
  }

  private static void narrow1(float[] wt, int rows, int cols, float[] x, int xo, int r,
      float[] acc, int at) {
    FloatVector a0 = FloatVector.zero(S);
    for (int c = 0; c < cols; c++) {
      a0 = FloatVector.fromArray(S, wt, c * rows + r)
          .fma(FloatVector.broadcast(S, x[xo + c]), a0);
    }
    a0.intoArray(acc, at);
  }

  private static void store4(float[] acc, int at, FloatVector a0, FloatVector a1,
      FloatVector a2, FloatVector a3) {
    a0.intoArray(acc, at);
    a1.intoArray(acc, at + L);
    a2.intoArray(acc, at + 2 * L);
    a3.intoArray(acc, at + 3 * L);
  }

  /** See {@link VecOps#dot}: lane partial sums, then the lanes added in index order. */
  static float dot(float[] a, int aOff, float[] b, int bOff, int len) {
    FloatVector s = FloatVector.zero(S);
    int i = 0;
    for (; i + L <= len; i += L) {
      s = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromArray(S, b, bOff + i), s);
    }
    float sum = sumLanes(s);
    for (; i < len; i++) {
      sum = Math.fma(a[aOff + i], b[bOff + i], sum);
    }
    return sum;
  }

  /** See {@link VecOps#axpy}. */
  static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int len) {
    FloatVector va = FloatVector.broadcast(S, alpha);
    int i = 0;
    for (; i + L <= len; i += L) {
      FloatVector.fromArray(S, x, xOff + i).fma(va, FloatVector.fromArray(S, y, yOff + i))
          .intoArray(y, yOff + i);
    }
    for (; i < len; i++) {
      y[yOff + i] = Math.fma(alpha, x[xOff + i], y[yOff + i]);
    }
  }

  /** See {@link VecOps#expShiftSum}. */
  static float expShiftSum(float[] s, int n, float max) {
    FloatVector acc = FloatVector.zero(S);
    int i = 0;
    for (; i + L <= n; i += L) {
      FloatVector e = FloatVector.fromArray(S, s, i).sub(max).lanewise(VectorOperators.EXP);
      e.intoArray(s, i);
      acc = acc.add(e);
    }
    float sum = sumLanes(acc);
    for (; i < n; i++) {
      s[i] = (float) Math.exp(s[i] - max);
      sum += s[i];
    }
    return sum;
  }

  /** Fixed order: reduceLanes may add in any order, which would make results vary by JIT. */
  private static float sumLanes(FloatVector v) {
    float[] lanes = new float[L];
    v.intoArray(lanes, 0);
    float sum = 0f;
    for (float f : lanes) {
      sum += f;
    }
    return sum;
  }
}
