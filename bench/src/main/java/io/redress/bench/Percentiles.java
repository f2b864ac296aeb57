package io.redress.bench;

import java.util.Arrays;

/**
 * Summary statistics of latency samples.
 *
 * <p>Percentiles use <b>linear interpolation between closest ranks</b> (Hyndman and Fan type
 * 7, the default of numpy's {@code percentile} and of Excel's {@code PERCENTILE.INC}): for
 * {@code n} sorted values {@code x[0..n-1]} the p-th percentile sits at fractional index
 * {@code h = p / 100 * (n - 1)} and is {@code x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1]
 * - x[floor(h)])}. So p0 is the minimum, p100 the maximum, p50 of an even count the mean of
 * the two middle values, and results are comparable with numbers from Python tooling (vLLM's
 * benchmark scripts use numpy).
 */
final class Percentiles {

  private Percentiles() {
  }

  /**
   * Count, mean, min, p50, p90, p95, p99 and max of some samples.
   *
   * @param count number of samples (0 when there were none; then every other field is NaN)
   */
  record Summary(int count, double mean, double min, double p50, double p90, double p95,
      double p99, double max) {

    /** The same summary with every value multiplied by {@code factor} (unit conversion). */
    Summary scaled(double factor) {
      return new Summary(count, mean * factor, min * factor, p50 * factor, p90 * factor,
          p95 * factor, p99 * factor, max * factor);
    }
  }

  /** Summarises {@code values} (not modified; any order). */
  static Summary summarize(double[] values) {
    if (values.length == 0) {
      double nan = Double.NaN;
      return new Summary(0, nan, nan, nan, nan, nan, nan, nan);
    }
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    double sum = 0;
    for (double v : sorted) {
      sum += v;
    }
    return new Summary(sorted.length, sum / sorted.length, sorted[0],
        ofSorted(sorted, 50), ofSorted(sorted, 90), ofSorted(sorted, 95), ofSorted(sorted, 99),
        sorted[sorted.length - 1]);
  }

  /** The p-th percentile of {@code values} (any order), or NaN when there are none. */
  static double percentile(double[] values, double p) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return ofSorted(sorted, p);
  }

  /**
   * The p-th percentile of ascending {@code sorted} values by linear interpolation.
   *
   * @param p in [0, 100]
   * @return NaN for an empty array
   */
  static double ofSorted(double[] sorted, double p) {
    if (!(p >= 0 && p <= 100)) {
      throw new IllegalArgumentException("percentile must be in [0, 100], got " + p);
    }
    if (sorted.length == 0) {
      return Double.NaN;
    }
    double h = p / 100 * (sorted.length - 1);
    int lo = (int) Math.floor(h);
    int hi = Math.min(lo + 1, sorted.length - 1);
    return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
  }
}
