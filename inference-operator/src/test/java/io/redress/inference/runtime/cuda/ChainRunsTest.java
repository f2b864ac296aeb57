package io.redress.inference.runtime.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The GPTQ chain's cost-balanced runs ({@link Kernels#chainRuns}): each phase's cuts cover its
 * units in order, give every block work but the last ones, never leave a block inside one
 * group (a group has at most two parts, w4a16_chain.cu's owner and partner), and cost no more
 * at most than the kernel's equal runs of input pairs (less at 14B on an H100's 132 SMs);
 * phases of fewer groups than blocks keep the equal runs.
 */
class ChainRunsTest {

  private static final int STAGE_PAIRS = 36;

  /** Qwen2.5 shapes: hidden, q size, kv size, intermediate; the grid; the group's shift. */
  @ParameterizedTest
  @CsvSource({"5120, 5120, 1024, 13824, 132, 1", "3584, 3584, 512, 18944, 132, 1",
      "5120, 5120, 1024, 13824, 114, 0", "4608, 4608, 768, 4352, 132, 1",
      "896, 896, 128, 4864, 132, 1"})
  void runsCoverEveryUnitAndCostNoMoreThanEqualOnes(int hidden, int qs, int kv, int inter,
      int nb, int gsh) {
    int[] pairs = {qs / 64, hidden / 64, inter / 64, hidden / 64};
    int[] groups = {hidden / 32, inter / 16, hidden / 32, (qs + 2 * kv) / 32};
    int[] runs = Kernels.chainRuns(pairs, groups, gsh, nb, STAGE_PAIRS);
    assertThat(runs).isEqualTo(Kernels.chainRuns(pairs, groups, gsh, nb, STAGE_PAIRS));
    for (int p = 0; p < Kernels.CHAIN_PHASES; p++) {
      long q = pairs[p] >> gsh;
      long n = groups[p] * q;
      int at = p * (nb + 1);
      assertThat(runs[at]).as("phase %d starts at 0", p).isZero();
      assertThat((long) runs[at + nb]).as("phase %d ends at its units", p).isEqualTo(n);
      double equalMax = 0;
      double max = 0;
      boolean equal = true;
      for (int b = 0; b < nb; b++) {
        long u0 = runs[at + b];
        long u1 = runs[at + b + 1];
        long e0 = b * n / nb;
        long e1 = (b + 1) * n / nb;
        equal &= u0 == e0 && u1 == e1;
        if (groups[p] < nb) {
          continue;
        }
        if (u0 == n) { // the last blocks may be idle
          assertThat(u1).as("phase %d, idle block %d", p, b).isEqualTo(n);
          continue;
        }
        assertThat(u1).as("phase %d, block %d has work", p, b).isGreaterThan(u0);
        boolean inside = u0 % q != 0 && u1 % q != 0 && u0 / q == (u1 - 1) / q;
        assertThat(inside).as("phase %d, block %d inside one group", p, b).isFalse();
        max = Math.max(max, Kernels.runCost(pairs[p], gsh, STAGE_PAIRS, u0, u1));
        equalMax = Math.max(equalMax, Kernels.runCost(pairs[p], gsh, STAGE_PAIRS, e0, e1));
      }
      if (groups[p] < nb) {
        assertThat(equal).as("phase %d: fewer groups than blocks, equal runs", p).isTrue();
      } else {
        assertThat(max).as("phase %d: largest cost", p).isLessThanOrEqualTo(equalMax + 1e-9);
        if (hidden == 5120 && nb == 132 && gsh == 1) {
          // 14B on an H100: every phase's equal runs leave some blocks more stages and parts
          assertThat(max).as("phase %d: largest cost at 14B", p).isLessThan(0.99 * equalMax);
        }
      }
    }
  }

  /**
   * Runs that free the last blocks in the last phase (the attention's): those blocks take no
   * units there, the others cover them all in order (the last of them may be idle too), none
   * inside one group and none costlier than the equal runs over as many blocks; the other
   * phases are the same as without. A last phase of fewer groups than blocks (0.5B) keeps the
   * equal runs, as without, and so does one asked to free every block.
   */
  @ParameterizedTest
  @CsvSource({"5120, 5120, 1024, 13824, 132, 1, 8, true",
      "5120, 5120, 1024, 13824, 132, 1, 16, true", "3584, 3584, 512, 18944, 132, 1, 4, true",
      "4608, 4608, 768, 4352, 132, 0, 6, true", "896, 896, 128, 4864, 132, 1, 2, false",
      "5120, 5120, 1024, 13824, 132, 1, 132, false"})
  void runsFreeTheLastBlocksInTheLastPhase(int hidden, int qs, int kv, int inter, int nb,
      int gsh, int free, boolean frees) {
    int[] pairs = {qs / 64, hidden / 64, inter / 64, hidden / 64};
    int[] groups = {hidden / 32, inter / 16, hidden / 32, (qs + 2 * kv) / 32};
    int[] runs = Kernels.chainRuns(pairs, groups, gsh, nb, STAGE_PAIRS, free);
    int[] plain = Kernels.chainRuns(pairs, groups, gsh, nb, STAGE_PAIRS);
    int last = Kernels.CHAIN_PHASES - 1;
    if (!frees) {
      assertThat(runs).isEqualTo(plain);
      return;
    }
    for (int i = 0; i < last * (nb + 1); i++) {
      assertThat(runs[i]).as("run bound %d before the last phase", i).isEqualTo(plain[i]);
    }
    long q = pairs[last] >> gsh;
    long n = groups[last] * q;
    int at = last * (nb + 1);
    assertThat(runs[at]).isZero();
    double max = 0;
    for (int b = 0; b < nb; b++) {
      long u0 = runs[at + b];
      long u1 = runs[at + b + 1];
      if (b >= nb - free) {
        assertThat(u0).as("free block %d", b).isEqualTo(n);
        assertThat(u1).as("free block %d", b).isEqualTo(n);
        continue;
      }
      if (u0 == n) { // idle past the phase's end
        assertThat(u1).as("idle block %d", b).isEqualTo(n);
        continue;
      }
      assertThat(u1).as("block %d has work", b).isGreaterThan(u0);
      boolean inside = u0 % q != 0 && u1 % q != 0 && u0 / q == (u1 - 1) / q;
      assertThat(inside).as("block %d inside one group", b).isFalse();
      max = Math.max(max, Kernels.runCost(pairs[last], gsh, STAGE_PAIRS, u0, u1));
    }
    assertThat((long) runs[at + nb - free]).as("the working blocks cover the phase").isEqualTo(n);
    double equalMax = 0;
    for (int b = 0; b < nb - free; b++) {
      equalMax = Math.max(equalMax, Kernels.runCost(pairs[last], gsh, STAGE_PAIRS,
          b * n / (nb - free), (b + 1) * n / (nb - free)));
    }
    assertThat(max).isLessThanOrEqualTo(equalMax + 1e-9);
  }
}
