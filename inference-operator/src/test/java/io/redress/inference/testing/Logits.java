package io.redress.inference.testing;

/** Small helpers over rows of logits. */
public final class Logits {

  private Logits() {}

  /** Top-1 minus top-2 logit of {@code logits[offset, offset + vocab)}. */
  public static double margin(float[] logits, int offset, int vocab) {
    float first = Float.NEGATIVE_INFINITY;
    float second = Float.NEGATIVE_INFINITY;
    for (int v = 0; v < vocab; v++) {
      float x = logits[offset + v];
      if (x > first) {
        second = first;
        first = x;
      } else if (x > second) {
        second = x;
      }
    }
    return first - second;
  }
}
