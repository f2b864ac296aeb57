package io.redress.inference.runtime.cpu;

import java.util.stream.IntStream;

/**
 * A dense fp32 weight matrix in HF {@code nn.Linear} layout ({@code [rows = out, cols = in]},
 * row-major) with an optional bias, applied to a block of token vectors.
 *
 * <p>Work is split over output rows, so each weight row is read from memory once per call and
 * reused for every token in the block: prefill is compute-bound, decode (one token) is
 * bandwidth-bound, and both stay simple.
 */
final class Matrix {

  /** Rows per parallel task: large enough to amortise scheduling, small enough to balance. */
  private static final int ROWS_PER_TASK = 32;

  final float[] weight; // (rows, cols)
  final float[] bias; // (rows) or null
  final int rows;
  final int cols;

  Matrix(float[] weight, float[] bias, int rows, int cols) {
    if ((long) rows * cols != weight.length || (bias != null && bias.length != rows)) {
      throw new IllegalArgumentException("matrix size mismatch: " + rows + "x" + cols);
    }
    this.weight = weight;
    this.bias = bias;
    this.rows = rows;
    this.cols = cols;
  }

  /** Stacks matrices with equal column counts row-wise: one pass instead of several (QKV). */
  static Matrix concatRows(Matrix... parts) {
    int rows = 0;
    boolean anyBias = false;
    for (Matrix m : parts) {
      rows += m.rows;
      anyBias |= m.bias != null;
    }
    int cols = parts[0].cols;
    float[] w = new float[rows * cols];
    float[] b = anyBias ? new float[rows] : null;
    int at = 0;
    for (Matrix m : parts) {
      if (m.cols != cols) {
        throw new IllegalArgumentException("column mismatch");
      }
      System.arraycopy(m.weight, 0, w, at * cols, m.rows * cols);
      if (m.bias != null) {
        System.arraycopy(m.bias, 0, b, at, m.rows);
      }
      at += m.rows;
    }
    return new Matrix(w, b, rows, cols);
  }

  /**
   * {@code out[t][r] = bias[r] + sum_c x[t][c] * weight[r][c]} for {@code t < n}.
   *
   * @param x {@code (n, cols)} inputs
   * @param n tokens in the block
   * @param out {@code (n, rows)} results
   */
  void apply(float[] x, int n, float[] out) {
    int tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
    IntStream.range(0, tasks).parallel().forEach(task -> {
      int end = Math.min(rows, (task + 1) * ROWS_PER_TASK);
      for (int r = task * ROWS_PER_TASK; r < end; r++) {
        float b = bias == null ? 0f : bias[r];
        int w = r * cols;
        int t = 0;
        // Four tokens per pass over the weight row: each weight is loaded once for four
        // products. Every token's sum keeps dot()'s order, so results do not depend on how
        // many tokens a step holds.
        for (; t + 3 < n; t += 4) {
          dot4(weight, w, x, t * cols, cols, out, t * rows + r, rows, b);
        }
        for (; t < n; t++) {
          out[t * rows + r] = b + dot(weight, w, x, t * cols, cols);
        }
      }
    });
  }

  /**
   * {@link #dot} of one weight row with four consecutive token rows, each summed in exactly
   * dot's order; results go to {@code out[at + k * stride]}.
   */
  static void dot4(float[] a, int aOff, float[] x, int xOff, int len, float[] out, int at,
      int stride, float bias) {
    int x0 = xOff;
    int x1 = xOff + len;
    int x2 = xOff + 2 * len;
    int x3 = xOff + 3 * len;
    float a00 = 0f, a01 = 0f, a02 = 0f, a03 = 0f;
    float a10 = 0f, a11 = 0f, a12 = 0f, a13 = 0f;
    float a20 = 0f, a21 = 0f, a22 = 0f, a23 = 0f;
    float a30 = 0f, a31 = 0f, a32 = 0f, a33 = 0f;
    int i = 0;
    for (; i + 3 < len; i += 4) {
      float w0 = a[aOff + i];
      float w1 = a[aOff + i + 1];
      float w2 = a[aOff + i + 2];
      float w3 = a[aOff + i + 3];
      a00 += w0 * x[x0 + i];
      a01 += w1 * x[x0 + i + 1];
      a02 += w2 * x[x0 + i + 2];
      a03 += w3 * x[x0 + i + 3];
      a10 += w0 * x[x1 + i];
      a11 += w1 * x[x1 + i + 1];
      a12 += w2 * x[x1 + i + 2];
      a13 += w3 * x[x1 + i + 3];
      a20 += w0 * x[x2 + i];
      a21 += w1 * x[x2 + i + 1];
      a22 += w2 * x[x2 + i + 2];
      a23 += w3 * x[x2 + i + 3];
      a30 += w0 * x[x3 + i];
      a31 += w1 * x[x3 + i + 1];
      a32 += w2 * x[x3 + i + 2];
      a33 += w3 * x[x3 + i + 3];
    }
    for (; i < len; i++) {
      float w = a[aOff + i];
      a00 += w * x[x0 + i];
      a10 += w * x[x1 + i];
      a20 += w * x[x2 + i];
      a30 += w * x[x3 + i];
    }
    out[at] = bias + ((a00 + a01) + (a02 + a03));
    out[at + stride] = bias + ((a10 + a11) + (a12 + a13));
    out[at + 2 * stride] = bias + ((a20 + a21) + (a22 + a23));
    out[at + 3 * stride] = bias + ((a30 + a31) + (a32 + a33));
  }

  /** Four independent accumulators: the JIT keeps them in registers and overlaps the FMAs. */
  static float dot(float[] a, int aOff, float[] b, int bOff, int len) {
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
}
