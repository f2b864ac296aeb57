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
    for (int hd : new int[] {8, 64, 80, 128}) {
      int kvStride = 2 * hd + 3;
      int n = 1 + r.nextInt(90);
      int[] slots = new int[n];
      for (int j = 0; j < n; j++) {
        slots[j] = r.nextInt(200);
      }
      float[] keys = random(r, 200 * kvStride);
      float[] q = random(r, hd + 5);
      float[] scores = new float[n];
      SimdOps.scores(q, 5, keys, slots, n, kvStride, hd, hd, 0.125f, scores,
          new float[SimdOps.scoresScratch()]);
      for (int j = 0; j < n; j++) {
        double dot = 0;
        for (int e = 0; e < hd; e++) {
          dot += (double) q[5 + e] * keys[slots[j] * kvStride + hd + e];
        }
        assertEquals(0.125 * dot, scores[j], 1e-5 * hd, "score " + j + ", head_dim " + hd);
      }
      // Weighted sums are one fma chain per output in both paths: bit-identical.
      float[] p = random(r, n);
      float[] simd = new float[hd + 2];
      SimdOps.weightedSum(p, n, keys, slots, kvStride, 1, hd, simd, 2);
      float[] scalar = new float[hd + 2];
      for (int e = 0; e < hd; e++) {
        float acc = 0f;
        for (int j = 0; j < n; j++) {
          acc = Math.fma(p[j], keys[slots[j] * kvStride + 1 + e], acc);
        }
        scalar[2 + e] = acc;
      }
      assertArrayEquals(scalar, simd, "weighted sum, head_dim " + hd);

      float[] s = random(r, n);
      float[] plain = s.clone();
      double sum = 0;
      for (int i = 0; i < n; i++) {
        plain[i] = (float) Math.exp(plain[i] - 0.5f);
        sum += plain[i];
      }
      assertEquals(sum, SimdOps.expShiftSum(s, n, 0.5f), 1e-5 * n);
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
