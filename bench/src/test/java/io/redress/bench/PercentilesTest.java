package io.redress.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

class PercentilesTest {

  @Test
  void interpolatesLinearlyBetweenClosestRanksLikeNumpy() {
    double[] v = {15, 20, 35, 40, 50};
    // numpy.percentile([15, 20, 35, 40, 50], [0, 25, 40, 50, 90, 99, 100])
    assertThat(Percentiles.percentile(v, 0)).isEqualTo(15);
    assertThat(Percentiles.percentile(v, 25)).isEqualTo(20);
    assertThat(Percentiles.percentile(v, 40)).isCloseTo(29, within(1e-12));
    assertThat(Percentiles.percentile(v, 50)).isEqualTo(35);
    assertThat(Percentiles.percentile(v, 90)).isCloseTo(46, within(1e-12));
    assertThat(Percentiles.percentile(v, 99)).isCloseTo(49.6, within(1e-12));
    assertThat(Percentiles.percentile(v, 100)).isEqualTo(50);
  }

  @Test
  void medianOfAnEvenCountIsTheMeanOfTheMiddlePair() {
    assertThat(Percentiles.percentile(new double[] {4, 1, 3, 2}, 50)).isEqualTo(2.5);
  }

  @Test
  void ignoresInputOrderAndLeavesTheInputAlone() {
    double[] v = {9, 1, 8, 2, 7, 3, 6, 4, 5, 10};
    double[] copy = v.clone();
    Percentiles.Summary s = Percentiles.summarize(v);
    assertThat(v).containsExactly(copy);
    assertThat(s.count()).isEqualTo(10);
    assertThat(s.mean()).isEqualTo(5.5);
    assertThat(s.min()).isEqualTo(1);
    assertThat(s.max()).isEqualTo(10);
    assertThat(s.p50()).isCloseTo(5.5, within(1e-12));
    assertThat(s.p90()).isCloseTo(9.1, within(1e-12));   // h = 8.1
    assertThat(s.p95()).isCloseTo(9.55, within(1e-12));  // h = 8.55
    assertThat(s.p99()).isCloseTo(9.91, within(1e-12));  // h = 8.91
  }

  @Test
  void oneSampleIsEveryPercentile() {
    Percentiles.Summary s = Percentiles.summarize(new double[] {7});
    assertThat(new double[] {s.min(), s.p50(), s.p90(), s.p95(), s.p99(), s.max(), s.mean()})
        .containsOnly(7);
  }

  @Test
  void noSamplesGiveNaN() {
    Percentiles.Summary s = Percentiles.summarize(new double[0]);
    assertThat(s.count()).isZero();
    assertThat(s.p50()).isNaN();
    assertThat(s.mean()).isNaN();
    assertThat(Percentiles.percentile(new double[0], 99)).isNaN();
  }

  @Test
  void percentilesAreMonotoneAndWithinRange() {
    double[] v = new Random(3).doubles(1001, -5, 5).toArray();
    double prev = Double.NEGATIVE_INFINITY;
    for (int p = 0; p <= 100; p++) {
      double q = Percentiles.percentile(v, p);
      assertThat(q).isGreaterThanOrEqualTo(prev).isBetween(-5.0, 5.0);
      prev = q;
    }
    // With n - 1 = 1000 every whole percentile lands exactly on a sample: rank p * 10.
    double[] sorted = v.clone();
    java.util.Arrays.sort(sorted);
    assertThat(Percentiles.percentile(v, 37)).isEqualTo(sorted[370]);
  }

  @Test
  void scalingConvertsUnits() {
    Percentiles.Summary ms = Percentiles.summarize(new double[] {1e6, 3e6}).scaled(1e-6);
    assertThat(ms.mean()).isCloseTo(2, within(1e-12));
    assertThat(ms.max()).isCloseTo(3, within(1e-12));
    assertThat(ms.count()).isEqualTo(2);
  }

  @Test
  void rejectsPercentilesOutsideZeroToHundred() {
    assertThatThrownBy(() -> Percentiles.percentile(new double[] {1}, 101))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[0, 100]");
    assertThatThrownBy(() -> Percentiles.percentile(new double[] {1}, -1))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
