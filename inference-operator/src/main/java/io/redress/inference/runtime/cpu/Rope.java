package io.redress.inference.runtime.cpu;

/**
 * Rotary position embedding in HF's "rotate_half" layout: dimension {@code i} pairs with
 * {@code i + headDim/2}. Frequencies and angles are computed in fp32 the way
 * {@code Qwen2RotaryEmbedding} does, so long positions round the same way as the reference.
 */
final class Rope {

  private final int headDim;
  private final float[] invFreq; // (headDim / 2)

  Rope(int headDim, double theta) {
    this.headDim = headDim;
    this.invFreq = new float[headDim / 2];
    for (int i = 0; i < headDim / 2; i++) {
      // inv_freq = 1.0 / (base ** (arange(0, dim, 2).float() / dim)), all fp32
      float exponent = (float) (2 * i) / headDim;
      invFreq[i] = 1f / (float) Math.pow((float) theta, exponent);
    }
  }

  /**
   * Rotates {@code heads} heads of width headDim in each row of {@code x}.
   *
   * @param x rows of {@code stride} floats; the heads start at column {@code offset}
   * @param n rows
   * @param positions the position of each row
   */
  void apply(float[] x, int n, int stride, int offset, int heads, int[] positions) {
    int half = headDim / 2;
    float[] cos = new float[half];
    float[] sin = new float[half];
    for (int t = 0; t < n; t++) {
      for (int i = 0; i < half; i++) {
        float angle = (float) positions[t] * invFreq[i];
        cos[i] = (float) Math.cos(angle);
        sin[i] = (float) Math.sin(angle);
      }
      for (int h = 0; h < heads; h++) {
        int base = t * stride + offset + h * headDim;
        for (int i = 0; i < half; i++) {
          float a = x[base + i];
          float b = x[base + i + half];
          // q * cos + rotate_half(q) * sin, with rotate_half(q) = cat(-q2, q1)
          x[base + i] = a * cos[i] - b * sin[i];
          x[base + i + half] = b * cos[i] + a * sin[i];
        }
      }
    }
  }
}
