package io.redress.inference.runtime.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The SIMD loops against the scalar ones: linear layers must agree to the bit. */
class SimdOpsTest {

  @Test
  void theTestJvmRunsTheSimdPath() {
    // The build passes --add-modules jdk.incubator.vector; without it every other CPU test
    // would silently exercise the scalar path only.
    assertTrue(VecOps.SIMD, "surefire's argLine lost --add-modules jdk.incubator.vector");
  }

  @Test
  void linearTilesAreBitIdenticalToScalarOnesForAnyWidth() {
    SplittableRandom r = new SplittableRandom(7);
    for (int width : new int[] {1, 7, 16, 33, 64, 100, 128}) {
      int rows = width + 5;
      int cols = 3 + r.nextInt(300);
      float[] wt = random(r, rows * cols);
      float[] x = random(r, 4 * cols);
      float[] simd = new float[4 * width];
      float[] scalar = new float[4 * width];
      SimdOps.pass4(wt, rows, cols, x, 0, 5, width, simd);
      for (int k = 0; k < 4; k++) {
        VecOps.pass1Scalar(wt, rows, cols, x, k, 5, width, scalar, k * width);
      }
      assertArrayEquals(scalar, simd, "pass4, width " + width);
      float[] one = new float[width];
      SimdOps.pass1(wt, rows, cols, x, 2, 5, width, one, 0);
      assertArrayEquals(java.util.Arrays.copyOfRange(scalar, 2 * width, 3 * width), one,
          "pass1, width " + width);
    }
  }

  @Test
  void attentionHelpersMatchPlainMath() {
    SplittableRandom r = new SplittableRandom(3);
    for (int len : new int[] {1, 15, 64, 131}) {
      float[] a = random(r, len + 3);
      float[] b = random(r, len + 1);
      double dot = 0;
      for (int i = 0; i < len; i++) {
        dot += (double) a[3 + i] * b[1 + i];
      }
      assertEquals(dot, SimdOps.dot(a, 3, b, 1, len), 1e-5 * len);

      float[] y = random(r, len);
      float[] expected = y.clone();
      for (int i = 0; i < len; i++) {
        expected[i] = Math.fma(0.37f, a[i], expected[i]);
      }
      SimdOps.axpy(0.37f, a, 0, y, 0, len);
      assertArrayEquals(expected, y);

      float[] s = random(r, len);
      float[] plain = s.clone();
      double sum = 0;
      for (int i = 0; i < len; i++) {
        plain[i] = (float) Math.exp(plain[i] - 0.5f);
        sum += plain[i];
      }
      assertEquals(sum, SimdOps.expShiftSum(s, len, 0.5f), 1e-5 * len);
      assertArrayEquals(plain, s, 1e-6f);
    }
  }

  private static float[] random(SplittableRandom r, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) (r.nextDouble() * 2 - 1);
    }
    return a;
  }
}
