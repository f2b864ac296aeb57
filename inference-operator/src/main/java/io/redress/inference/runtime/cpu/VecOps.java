package io.redress.inference.runtime.cpu;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CPU runner's inner loops. Scalar Java by default; {@link SimdOps} when the JVM has the
 * {@code jdk.incubator.vector} module ({@code --add-modules jdk.incubator.vector}; bin/redress,
 * the tests and the job's launchers pass it). HotSpot does not auto-vectorize these loops (it
 * cannot prove the arrays distinct, and float sums may not be reordered), and SIMD is 10 to 30
 * times faster here, so the flag matters.
 */
final class VecOps {

  private static final Logger LOG = LoggerFactory.getLogger(VecOps.class);

  /** Whether {@link SimdOps} serves. */
  static final boolean SIMD = simdUsable();

  private VecOps() {}

  private static boolean simdUsable() {
    if (Boolean.getBoolean("redress.cpu.noSimd")
        || ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
      LOG.info("CPU runner: scalar loops (start the JVM with --add-modules"
          + " jdk.incubator.vector for SIMD, many times faster)");
      return false;
    }
    try {
      SimdOps.weightedSum(new float[1], 1, new float[1], new int[1], 1, 0, 1, new float[1], 0);
      return true;
    } catch (LinkageError e) {
      LOG.info("CPU runner: scalar loops ({})", e.toString());
      return false;
    }
  }

  /**
   * {@code acc[k * width + j] = sum_c x[(t + k) * cols + c] * wt[c * rows + r0 + j]} for four
   * tokens {@code k < 4} and {@code j < width}: one fused multiply-add chain per output, in
   * {@code c} order.
   */
  static void pass4(float[] wt, int rows, int cols, float[] x, int t, int r0, int width,
      float[] acc) {
    if (SIMD) {
      SimdOps.pass4(wt, rows, cols, x, t, r0, width, acc);
      return;
    }
    for (int k = 0; k < 4; k++) {
      pass1Scalar(wt, rows, cols, x, t + k, r0, width, acc, k * width);
    }
  }

  /** {@link #pass4} for one token, into {@code acc[a + j]}. */
  static void pass1(float[] wt, int rows, int cols, float[] x, int t, int r0, int width,
      float[] acc, int a) {
    if (SIMD) {
      SimdOps.pass1(wt, rows, cols, x, t, r0, width, acc, a);
    } else {
      pass1Scalar(wt, rows, cols, x, t, r0, width, acc, a);
    }
  }

  static void pass1Scalar(float[] wt, int rows, int cols, float[] x, int t, int r0, int width,
      float[] acc, int a) {
    java.util.Arrays.fill(acc, a, a + width, 0f);
    for (int c = 0; c < cols; c++) {
      float xc = x[t * cols + c];
      int w = c * rows + r0;
      for (int j = 0; j < width; j++) {
        acc[a + j] = Math.fma(xc, wt[w + j], acc[a + j]);
      }
    }
  }

  /** Size of the scratch array {@link #scores} takes. */
  static int scoresScratch() {
    return SIMD ? SimdOps.scoresScratch() : 1;
  }

  /**
   * Attention scores of one query head over a sequence's positions:
   * {@code out[j] = scale * sum_e q[qOff + e] * keys[slots[j] * kvStride + kOff + e]}.
   *
   * @param lanes scratch of {@link #scoresScratch()} floats
   */
  static void scores(float[] q, int qOff, float[] keys, int[] slots, int n, int kvStride,
      int kOff, int hd, float scale, float[] out, float[] lanes) {
    if (SIMD) {
      SimdOps.scores(q, qOff, keys, slots, n, kvStride, kOff, hd, scale, out, lanes);
      return;
    }
    for (int j = 0; j < n; j++) {
      int k = slots[j] * kvStride + kOff;
      float sum = 0f;
      for (int e = 0; e < hd; e++) {
        sum = Math.fma(q[qOff + e], keys[k + e], sum);
      }
      out[j] = sum * scale;
    }
  }

  /**
   * {@code out[oOff + e] = sum_j p[j] * values[slots[j] * kvStride + vOff + e]} for
   * {@code e < hd}: the attention-weighted sum of one head's values.
   */
  static void weightedSum(float[] p, int n, float[] values, int[] slots, int kvStride,
      int vOff, int hd, float[] out, int oOff) {
    if (SIMD) {
      SimdOps.weightedSum(p, n, values, slots, kvStride, vOff, hd, out, oOff);
      return;
    }
    for (int e = 0; e < hd; e++) {
      float acc = 0f;
      for (int j = 0; j < n; j++) {
        acc = Math.fma(p[j], values[slots[j] * kvStride + vOff + e], acc);
      }
      out[oOff + e] = acc;
    }
  }

  /** {@code s[i] = exp(s[i] - max)} for {@code i < n}; returns their sum. */
  static float expShiftSum(float[] s, int n, float max) {
    if (SIMD) {
      return SimdOps.expShiftSum(s, n, max);
    }
    float sum = 0f;
    for (int i = 0; i < n; i++) {
      s[i] = (float) Math.exp(s[i] - max);
      sum += s[i];
    }
    return sum;
  }
}
