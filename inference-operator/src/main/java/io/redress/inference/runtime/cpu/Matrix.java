package io.redress.inference.runtime.cpu;

import java.util.stream.IntStream;

/**
 * A dense fp32 linear layer ({@code out = x W^T + b}, HF {@code nn.Linear} with {@code rows}
 * outputs and {@code cols} inputs) applied to a block of token vectors.
 *
 * <p>The weight is kept input-major ({@code wt[c][r]}, the transpose of HF's layout) so the
 * inner loop is {@code acc[r] = fma(x[c], wt[c][r], acc[r])} over contiguous outputs: no
 * horizontal sums, so {@link VecOps} runs it 8 or 16 outputs per SIMD instruction, with a
 * register tile of four tokens. Work is split over tiles of output rows; each tile's weights
 * are read once per group of {@value #TOKENS_PER_PASS} tokens. Every output is one fused
 * multiply-add chain over {@code c} in order, whatever the number of tokens in the block or
 * the SIMD width, so results do not depend on how a step is batched.
 */
final class Matrix {

  /** Output rows per parallel task: accumulators for a token group stay in L1. */
  private static final int ROWS_PER_TASK = 128;
  /** Tokens sharing one pass over a tile's weights. */
  private static final int TOKENS_PER_PASS = 4;

  final float[] wt; // (cols, rows): wt[c * rows + r] = W[r][c]
  final float[] bias; // (rows) or null
  final int rows;
  final int cols;

  private Matrix(float[] wt, float[] bias, int rows, int cols) {
    if ((long) rows * cols != wt.length || (bias != null && bias.length != rows)) {
      throw new IllegalArgumentException("matrix size mismatch: " + rows + "x" + cols);
    }
    this.wt = wt;
    this.bias = bias;
    this.rows = rows;
    this.cols = cols;
  }

  /** From HF's row-major {@code (rows, cols)} weight; the array is not kept. */
  static Matrix ofRowMajor(float[] weight, float[] bias, int rows, int cols) {
    if ((long) rows * cols != weight.length) {
      throw new IllegalArgumentException("matrix size mismatch: " + rows + "x" + cols);
    }
    float[] wt = new float[weight.length];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        wt[c * rows + r] = weight[r * cols + c];
      }
    }
    return new Matrix(wt, bias, rows, cols);
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
    float[] wt = new float[rows * cols];
    float[] b = anyBias ? new float[rows] : null;
    int at = 0;
    for (Matrix m : parts) {
      if (m.cols != cols) {
        throw new IllegalArgumentException("column mismatch");
      }
      for (int c = 0; c < cols; c++) {
        System.arraycopy(m.wt, c * m.rows, wt, c * rows + at, m.rows);
      }
      if (m.bias != null) {
        System.arraycopy(m.bias, 0, b, at, m.rows);
      }
      at += m.rows;
    }
    return new Matrix(wt, b, rows, cols);
  }

  /** Row {@code r} of HF's layout (an embedding row when the LM head is tied), into out. */
  void row(int r, float[] out, int outOff) {
    for (int c = 0; c < cols; c++) {
      out[outOff + c] = wt[c * rows + r];
    }
  }

  /**
   * {@code out[t][r] = bias[r] + sum_c x[t][c] * W[r][c]} for {@code t < n}.
   *
   * @param x {@code (n, cols)} inputs
   * @param n tokens in the block
   * @param out {@code (n, rows)} results
   */
  void apply(float[] x, int n, float[] out) {
    int tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
    IntStream.range(0, tasks).parallel().forEach(task -> {
      int r0 = task * ROWS_PER_TASK;
      int width = Math.min(rows, r0 + ROWS_PER_TASK) - r0;
      float[] acc = new float[TOKENS_PER_PASS * width];
      for (int t = 0; t < n; t += TOKENS_PER_PASS) {
        int group = Math.min(TOKENS_PER_PASS, n - t);
        if (group == TOKENS_PER_PASS) {
          VecOps.pass4(wt, rows, cols, x, t, r0, width, acc);
        } else {
          for (int k = 0; k < group; k++) {
            VecOps.pass1(wt, rows, cols, x, t + k, r0, width, acc, k * width);
          }
        }
        for (int k = 0; k < group; k++) {
          int o = (t + k) * rows + r0;
          for (int j = 0; j < width; j++) {
            out[o + j] = (bias == null ? 0f : bias[r0 + j]) + acc[k * width + j];
          }
        }
      }
    });
  }
}
