package io.redress.inference.runtime.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.redress.inference.engine.SamplingParams;
import org.junit.jupiter.api.Test;

/**
 * Each warper does what its definition says, checked on empirical frequencies over many
 * counter-indexed draws with a fixed seed (deterministic, so the tolerances cannot flake).
 */
class SamplerTest {

  private static final int DRAWS = 40_000;
  /** Probabilities 0.5, 0.3, 0.15, 0.05 as logits (log-probabilities), plus two very unlikely. */
  private static final float[] LOGITS = {
      (float) Math.log(0.15), (float) Math.log(0.5), (float) Math.log(0.05),
      (float) Math.log(0.3), -30f, -30f};

  private static double[] frequencies(SamplingParams p) {
    double[] counts = new double[LOGITS.length];
    for (int i = 0; i < DRAWS; i++) {
      counts[Sampler.sample(LOGITS, 0, LOGITS.length, p, 1234L, i)]++;
    }
    for (int i = 0; i < counts.length; i++) {
      counts[i] /= DRAWS;
    }
    return counts;
  }

  private static SamplingParams sampling() {
    return SamplingParams.greedy(1).withTemperature(1.0);
  }

  @Test
  void greedyTakesTheLargestLowestIdOnTies() {
    assertThat(Sampler.sample(new float[] {1, 3, 3, 2}, 0, 4, SamplingParams.greedy(1), 0, 0))
        .isEqualTo(1);
    // topK = 1 is greedy too, whatever the temperature.
    assertThat(Sampler.sample(LOGITS, 0, LOGITS.length, sampling().withTopK(1), 9, 9))
        .isEqualTo(1);
  }

  @Test
  void temperatureOneSamplesTheSoftmax() {
    double[] f = frequencies(sampling());
    assertThat(f[1]).isCloseTo(0.5, within(0.01));
    assertThat(f[3]).isCloseTo(0.3, within(0.01));
    assertThat(f[0]).isCloseTo(0.15, within(0.01));
    assertThat(f[2]).isCloseTo(0.05, within(0.006));
  }

  @Test
  void temperatureFlattensAndSharpens() {
    // T = 2: p_i proportional to sqrt(p_i).
    double[] f = frequencies(sampling().withTemperature(2.0));
    double z = Math.sqrt(0.5) + Math.sqrt(0.3) + Math.sqrt(0.15) + Math.sqrt(0.05);
    assertThat(f[1]).isCloseTo(Math.sqrt(0.5) / z, within(0.01));
    assertThat(f[2]).isCloseTo(Math.sqrt(0.05) / z, within(0.01));
    // T = 0.5: p_i proportional to p_i^2.
    double[] g = frequencies(sampling().withTemperature(0.5));
    double z2 = 0.25 + 0.09 + 0.0225 + 0.0025;
    assertThat(g[1]).isCloseTo(0.25 / z2, within(0.01));
    assertThat(g[3]).isCloseTo(0.09 / z2, within(0.01));
  }

  @Test
  void topKKeepsTheKMostLikelyRenormalised() {
    double[] f = frequencies(sampling().withTopK(2));
    assertThat(f[1]).isCloseTo(0.5 / 0.8, within(0.01));
    assertThat(f[3]).isCloseTo(0.3 / 0.8, within(0.01));
    assertThat(f[0] + f[2] + f[4] + f[5]).isZero();
  }

  @Test
  void topPKeepsTheSmallestSetReachingP() {
    // Cumulative 0.5, 0.8, 0.95: top-p 0.6 keeps {0.5, 0.3}; 0.8 keeps the same two (reached);
    // 0.81 adds 0.15.
    double[] f = frequencies(sampling().withTopP(0.6));
    assertThat(f[1]).isCloseTo(0.625, within(0.01));
    assertThat(f[3]).isCloseTo(0.375, within(0.01));
    assertThat(f[0] + f[2]).isZero();
    double[] g = frequencies(sampling().withTopP(0.81));
    assertThat(g[0]).isCloseTo(0.15 / 0.95, within(0.01));
    assertThat(g[2]).isZero();
    // A tiny p keeps only the most likely token.
    assertThat(frequencies(sampling().withTopP(0.01))[1]).isEqualTo(1.0);
  }

  @Test
  void topKThenTopP() {
    // top-k 3 renormalises to 0.526, 0.316, 0.158; top-p 0.8 then keeps the first two.
    double[] f = frequencies(sampling().withTopK(3).withTopP(0.8));
    assertThat(f[1]).isCloseTo(0.625, within(0.01));
    assertThat(f[0]).isZero();
  }

  @Test
  void drawsAreAFunctionOfSeedAndIndexOnly() {
    SamplingParams p = sampling();
    for (int i = 0; i < 100; i++) {
      assertThat(Sampler.sample(LOGITS, 0, LOGITS.length, p, 77, i))
          .isEqualTo(Sampler.sample(LOGITS, 0, LOGITS.length, p, 77, i));
    }
    int same = 0;
    for (int i = 0; i < 1000; i++) {
      same += Sampler.sample(LOGITS, 0, LOGITS.length, p, 1, i)
          == Sampler.sample(LOGITS, 0, LOGITS.length, p, 2, i) ? 1 : 0;
    }
    assertThat(same).as("two seeds agree only by chance (~38%%)").isBetween(300, 460);
  }

  @Test
  void candidatesSortByLogitThenId() {
    int[] order = Sampler.sortedCandidates(new float[] {0f, 2f, -1f, 2f, -0.5f}, 0, 5, 0);
    assertThat(order).containsExactly(1, 3, 0, 4, 2);
    assertThat(Sampler.sortedCandidates(new float[] {0f, 2f, -1f, 2f}, 0, 4, 2))
        .containsExactly(1, 3);
  }
}
