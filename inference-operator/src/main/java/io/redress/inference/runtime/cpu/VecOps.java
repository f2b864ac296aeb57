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
      SimdOps.dot(new float[1], 0, new float[1], 0, 1);
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

  /** {@code sum_i a[aOff + i] * b[bOff + i]}. */
  static float dot(float[] a, int aOff, float[] b, int bOff, int len) {
    if (SIMD) {
      return SimdOps.dot(a, aOff, b, bOff, len);
    }
    float s0 = 0f;
    float s1 = 0f;
    float s2 = 0f;
    float s3 = 0f;
    int i = 0;
    for (; i + 3 < len; i += 4) {
      s0 += a[aOff + i] * b[bOff + i];
      s1 += a[aOff + i + 1] * b[bOff + i + 1];
      s2 += a[aOff + i + 2] * b[bOff + i + 2];
      s3 += a[aOff + i + 3] * b[bOff + i + 3];
    }
    for (; i < len; i++) {
      s0 += a[aOff + i] * b[bOff + i];
    }
    return (s0 + s1) + (s2 + s3);
  }

  /** {@code y[yOff + i] += alpha * x[xOff + i]}. */
  static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int len) {
    if (SIMD) {
      SimdOps.axpy(alpha, x, xOff, y, yOff, len);
      return;
    }
    for (int i = 0; i < len; i++) {
      y[yOff + i] += alpha * x[xOff + i];
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
