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
        for (int t = 0; t < n; t++) {
          out[t * rows + r] = b + dot(weight, w, x, t * cols, cols);
        }
      }
    });
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
