package io.redress.inference.runtime.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
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

  /** Scratch floats {@link #scores} needs. */
  static int scoresScratch() {
    return 4 * L;
  }

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

  /**
   * See {@link VecOps#scores}: per position one fused multiply-add chain over the head's
   * vectors, then the lanes added in index order (reduceLanes may add in any order, which
   * could differ between interpreted and compiled code).
   */
  static void scores(float[] q, int qOff, float[] keys, int[] slots, int n, int kvStride,
      int kOff, int hd, float scale, float[] out, float[] lanes) {
    int vec = hd - hd % L;
    int j = 0;
    // Four positions at a time: their lane sums are four independent add chains, which the
    // CPU overlaps (one chain of L dependent adds per position was the bottleneck).
    for (; j + 4 <= n; j += 4) {
      int k0 = slots[j] * kvStride + kOff;
      int k1 = slots[j + 1] * kvStride + kOff;
      int k2 = slots[j + 2] * kvStride + kOff;
      int k3 = slots[j + 3] * kvStride + kOff;
      FloatVector a0 = FloatVector.zero(S);
      FloatVector a1 = a0;
      FloatVector a2 = a0;
      FloatVector a3 = a0;
      for (int e = 0; e < vec; e += L) {
        FloatVector qv = FloatVector.fromArray(S, q, qOff + e);
        a0 = FloatVector.fromArray(S, keys, k0 + e).fma(qv, a0);
        a1 = FloatVector.fromArray(S, keys, k1 + e).fma(qv, a1);
        a2 = FloatVector.fromArray(S, keys, k2 + e).fma(qv, a2);
        a3 = FloatVector.fromArray(S, keys, k3 + e).fma(qv, a3);
      }
      a0.intoArray(lanes, 0);
      a1.intoArray(lanes, L);
      a2.intoArray(lanes, 2 * L);
      a3.intoArray(lanes, 3 * L);
      float s0 = 0f;
      float s1 = 0f;
      float s2 = 0f;
      float s3 = 0f;
      for (int l = 0; l < L; l++) {
        s0 += lanes[l];
        s1 += lanes[L + l];
        s2 += lanes[2 * L + l];
        s3 += lanes[3 * L + l];
      }
      for (int e = vec; e < hd; e++) {
        float qe = q[qOff + e];
        s0 = Math.fma(qe, keys[k0 + e], s0);
        s1 = Math.fma(qe, keys[k1 + e], s1);
        s2 = Math.fma(qe, keys[k2 + e], s2);
        s3 = Math.fma(qe, keys[k3 + e], s3);
      }
      out[j] = s0 * scale;
      out[j + 1] = s1 * scale;
      out[j + 2] = s2 * scale;
      out[j + 3] = s3 * scale;
    }
    for (; j < n; j++) {
      int k = slots[j] * kvStride + kOff;
      FloatVector acc = FloatVector.zero(S);
      for (int e = 0; e < vec; e += L) {
        acc = FloatVector.fromArray(S, keys, k + e).fma(FloatVector.fromArray(S, q, qOff + e),
            acc);
      }
      acc.intoArray(lanes, 0);
      float sum = 0f;
      for (int l = 0; l < L; l++) {
        sum += lanes[l];
      }
      for (int e = vec; e < hd; e++) {
        sum = Math.fma(q[qOff + e], keys[k + e], sum);
      }
      out[j] = sum * scale;
    }
  }

  /** See {@link VecOps#weightedSum}: accumulators stay in registers across positions. */
  static void weightedSum(float[] p, int n, float[] values, int[] slots, int kvStride,
      int vOff, int hd, float[] out, int oOff) {
    int e = 0;
    for (; e + L <= hd; e += L) {
      FloatVector acc = FloatVector.zero(S);
      for (int j = 0; j < n; j++) {
        acc = FloatVector.fromArray(S, values, slots[j] * kvStride + vOff + e)
            .fma(FloatVector.broadcast(S, p[j]), acc);
      }
      acc.intoArray(out, oOff + e);
    }
    for (; e < hd; e++) {
      float acc = 0f;
      for (int j = 0; j < n; j++) {
        acc = Math.fma(p[j], values[slots[j] * kvStride + vOff + e], acc);
      }
      out[oOff + e] = acc;
    }
  }

  /**
   * See {@link VecOps#expShiftSum}. The tail goes through the same vector code, padded with
   * lanes whose exp is 0, so every element gets the same function whatever its index.
   */
  static float expShiftSum(float[] s, int n, float max) {
    FloatVector acc = FloatVector.zero(S);
    int i = 0;
    for (; i + L <= n; i += L) {
      FloatVector e = exp(FloatVector.fromArray(S, s, i).sub(max));
      e.intoArray(s, i);
      acc = acc.add(e);
    }
    float[] lanes = new float[L];
    if (i < n) {
      java.util.Arrays.fill(lanes, Float.NEGATIVE_INFINITY);
      System.arraycopy(s, i, lanes, 0, n - i);
      FloatVector e = exp(FloatVector.fromArray(S, lanes, 0).sub(max));
      e.intoArray(lanes, 0);
      System.arraycopy(lanes, 0, s, i, n - i);
      acc = acc.add(e);
    }
    acc.intoArray(lanes, 0);
    float sum = 0f;
    for (float f : lanes) {
      sum += f;
    }
    return sum;
  }

  /**
   * {@code exp(x)} per lane, within 1 ulp, from multiplies, adds and exponent bits only:
   * Cephes' expf (x = k ln 2 + r, |r| <= ln 2 / 2, exp(r) by a degree-6 polynomial, times
   * 2^k). Below -87 it gives 0 (exp(-87) is near the smallest normal float), above 88 exp(88).
   *
   * <p>Not {@code lanewise(VectorOperators.EXP)}: C2 compiles that to Intel's SVML while the
   * interpreter and C1 run its Java fallback, {@code Math.exp} per lane, and the two differ in
   * the last bit for about 1 % of inputs. The softmax then changed once C2 had compiled it, so
   * the same tokens gave different logits from a few passes into a JVM's life. These
   * operations round exactly the same in every tier.
   */
  private static FloatVector exp(FloatVector x) {
    VectorMask<Float> underflow = x.lt(-87f);
    x = x.max(-87f).min(88f);
    // Adding 1.5 * 2^23 rounds x / ln 2 to the integer k, which lands in the low mantissa bits.
    FloatVector t = x.mul(1.44269504f).add(0x1.8p23f);
    FloatVector k = t.sub(0x1.8p23f);
    // r = x - k ln 2 with ln 2 in two parts; k * 0.693359375 is exact, so no bits of x are lost.
    FloatVector r = k.fma(FloatVector.broadcast(S, -0.693359375f), x);
    r = k.fma(FloatVector.broadcast(S, 2.12194440e-4f), r);
    FloatVector p = r.fma(1.9875691500e-4f, 1.3981999507e-3f);
    p = p.fma(r, FloatVector.broadcast(S, 8.3334519073e-3f));
    p = p.fma(r, FloatVector.broadcast(S, 4.1665795894e-2f));
    p = p.fma(r, FloatVector.broadcast(S, 1.6666665459e-1f));
    p = p.fma(r, FloatVector.broadcast(S, 5.0000001201e-1f));
    FloatVector y = p.fma(r.mul(r), r).add(1f);
    // 2^k as float bits, (k + 127) << 23, with k read from t's bits: JDK 17's C2 does not
    // compile convert(F2I) for these vectors, and its fallback made this 10 times slower.
    IntVector pow2 = ((IntVector) t.reinterpretAsInts()).sub(0x4B400000 - 127)
        .lanewise(VectorOperators.LSHL, 23);
    return y.mul(pow2.reinterpretAsFloats()).blend(0f, underflow);
  }
}
