package io.redress.inference.runtime.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.engine.SamplingParams;
import io.redress.inference.runtime.SeqStep;
import io.redress.inference.runtime.Step;
import io.redress.inference.testing.Fixtures;
import io.redress.inference.testing.Gpu;
import io.redress.inference.testing.Logits;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * The fused decode path (five launches per layer, {@code redress.cuda.fused}) against the
 * unfused kernels on the fixture models, as the runner drives them: decode steps of one and two
 * sequences in CUDA graphs and a prefill fed two tokens at a time (eager), teacher-forced on the
 * unfused run's greedy tokens. The fused norms reduce in another order than add_rmsnorm_bf16
 * and split-K attention sums in another order than the one-block attention, so with split-K
 * attention off or on (the default) the logits agree within bf16 noise and the greedy tokens
 * agree wherever the top-2 margin is clear of it; and the fused path is deterministic: a second
 * run gives the same logits bit for bit.
 */
@Tag("gpu")
class FusedDecodeGpuTest {

  static final List<String> MODELS = Fixtures.MODELS;

  /** |fused - unfused| <= TOLERANCE x max |logit| (other sum orders, bf16 activations). */
  static final double TOLERANCE = 2e-2;

  private static final int PROMPT = 300; // past two attention splits (128 keys each at least)
  private static final int DECODE = 24;

  @BeforeEach
  void gpu() {
    Gpu.assumeUsable();
  }

  /** The logits of every step of a scripted run, and the greedy tokens that drove it. */
  record Run(List<float[]> logits, List<int[]> tokens) {}

  @ParameterizedTest
  @FieldSource("MODELS")
  void fusedWithoutSplitAttentionMatches(String model) {
    Run unfused = run(model, false, false, null);
    Run fused = run(model, true, false, unfused.tokens());
    assertMatches(model + " (one-block attention)", unfused, fused);
  }

  @ParameterizedTest
  @FieldSource("MODELS")
  void fusedWithSplitAttentionMatches(String model) {
    Run unfused = run(model, false, false, null);
    Run fused = run(model, true, true, unfused.tokens());
    assertMatches(model + " (split-K attention)", unfused, fused);
    assertSameBits(model, fused, run(model, true, true, unfused.tokens()));
  }

  /** A second run's logits are the first's, bit for bit. */
  static void assertSameBits(String what, Run first, Run again) {
    for (int i = 0; i < first.logits().size(); i++) {
      float[] a = first.logits().get(i);
      float[] b = again.logits().get(i);
      for (int j = 0; j < a.length; j++) {
        assertThat(Float.floatToRawIntBits(b[j])).as("%s, step %d, logit %d: second run", what,
            i, j).isEqualTo(Float.floatToRawIntBits(a[j]));
      }
    }
  }

  /**
   * Every sampled row's logits within TOLERANCE x max |logit| of the unfused run's, and the
   * same greedy token wherever the unfused top-2 margin exceeds twice that.
   */
  static void assertMatches(String what, Run unfused, Run fused) {
    int vocab = unfused.logits().get(0).length / 2;
    double worst = 0;
    int compared = 0;
    for (int i = 0; i < unfused.logits().size(); i++) {
      float[] u = unfused.logits().get(i);
      float[] f = fused.logits().get(i);
      for (int row = 0; row < u.length / vocab; row++) {
        double maxAbs = 0;
        double maxDiff = 0;
        int argU = 0;
        int argF = 0;
        for (int v = 0; v < vocab; v++) {
          int j = row * vocab + v;
          maxAbs = Math.max(maxAbs, Math.abs(u[j]));
          maxDiff = Math.max(maxDiff, Math.abs(u[j] - f[j]));
          argU = u[j] > u[row * vocab + argU] ? v : argU;
          argF = f[j] > f[row * vocab + argF] ? v : argF;
        }
        if (maxAbs == 0) {
          continue; // a row the step did not sample
        }
        assertThat(Double.isFinite(maxDiff)).as("%s, step %d, row %d: finite", what, i, row)
            .isTrue();
        worst = Math.max(worst, maxDiff / maxAbs);
        assertThat(maxDiff).as("%s, step %d, row %d", what, i, row)
            .isLessThanOrEqualTo(TOLERANCE * maxAbs);
        if (Logits.margin(u, row * vocab, vocab) > 2 * TOLERANCE * maxAbs) {
          assertThat(argF).as("%s, step %d, row %d: greedy token", what, i, row)
              .isEqualTo(argU);
          compared++;
        }
      }
    }
    System.out.printf("%s: worst |fused - unfused| / max|logit| = %.2e; %d greedy tokens"
        + " compared%n", what, worst, compared);
    assertThat(compared).as("%s: greedy tokens compared", what).isPositive();
  }

  /**
   * One scripted run: sequence A's prompt fed two tokens a step (eager fused steps of two
   * tokens of one sequence), then B's prompt in one prefill step, then DECODE steps of A alone
   * (batch 1 graph) and DECODE of A and B together (batch 2 graph). Each step's logits padded to
   * two rows. Tokens come from {@code forced} when given (the unfused run's), else greedy.
   */
  private Run run(String model, boolean fused, boolean split, List<int[]> forced) {
    String oldFused = System.setProperty("redress.cuda.fused", String.valueOf(fused));
    String oldSplit = System.setProperty("redress.cuda.splitAttention", String.valueOf(split));
    try (CudaModelRunner gpu = CudaModelRunner.load(Fixtures.modelDir(model),
        new CudaModelRunner.Options(0, 16, 64, 0.9, 4, 512, 1024))) {
      int vocab = gpu.config().vocabSize();
      Random random = new Random(31);
      int[] promptA = random.ints(PROMPT, 0, Math.min(vocab, 2000)).toArray();
      int[] promptB = random.ints(PROMPT / 2, 0, Math.min(vocab, 2000)).toArray();
      int[] tableA = IntStream.range(0, 32).toArray();
      int[] tableB = IntStream.range(32, 64).toArray();
      SamplingParams greedy = SamplingParams.greedy(1);
      List<float[]> logits = new ArrayList<>();
      List<int[]> tokens = new ArrayList<>();
      // A's prompt, two tokens a step; only the last step samples.
      for (int p = 0; p < 40; p += 2) {
        boolean last = p + 2 == 40;
        Step step = new Step(new int[] {promptA[p], promptA[p + 1]},
            List.of(new SeqStep(2, p, tableA, last, greedy, 0, 0)));
        if (last) {
          record(gpu.stepLogits(step), vocab, logits, tokens, forced);
        } else {
          gpu.step(step);
        }
      }
      int[] restA = java.util.Arrays.copyOfRange(promptA, 40, PROMPT);
      record(gpu.stepLogits(new Step(restA,
          List.of(new SeqStep(restA.length, 40, tableA, true, greedy, 0, 0)))), vocab, logits,
          tokens, forced);
      record(gpu.stepLogits(new Step(promptB,
          List.of(new SeqStep(promptB.length, 0, tableB, true, greedy, 0, 0)))), vocab, logits,
          tokens, forced);
      int nextA = tokens.get(1)[0];
      int nextB = tokens.get(2)[0];
      int posA = PROMPT;
      int posB = promptB.length;
      for (int j = 0; j < DECODE; j++, posA++) {
        record(gpu.stepLogits(new Step(new int[] {nextA},
            List.of(new SeqStep(1, posA, tableA, true, greedy, 0, j)))), vocab, logits, tokens,
            forced);
        nextA = tokens.get(tokens.size() - 1)[0];
      }
      for (int j = 0; j < DECODE; j++, posA++, posB++) {
        record(gpu.stepLogits(new Step(new int[] {nextA, nextB},
            List.of(new SeqStep(1, posA, tableA, true, greedy, 0, j),
                new SeqStep(1, posB, tableB, true, greedy, 0, j)))), vocab, logits, tokens,
            forced);
        int[] next = tokens.get(tokens.size() - 1);
        nextA = next[0];
        nextB = next[1];
      }
      return new Run(logits, tokens);
    } finally {
      restore("redress.cuda.fused", oldFused);
      restore("redress.cuda.splitAttention", oldSplit);
    }
  }

  /** Keeps a step's logits (padded to two rows) and its tokens: forced, or each row's argmax. */
  static void record(float[] rows, int vocab, List<float[]> logits, List<int[]> tokens,
      List<int[]> forced) {
    logits.add(java.util.Arrays.copyOf(rows, 2 * vocab));
    int n = rows.length / vocab;
    int[] next = new int[n];
    for (int r = 0; r < n; r++) {
      next[r] = argmax(rows, vocab, r);
    }
    tokens.add(forced == null ? next : forced.get(tokens.size()));
  }

  /** Row r's greedy id: its largest logit, the lowest id on ties (the sampler's order). */
  static int argmax(float[] rows, int vocab, int r) {
    int best = 0;
    for (int v = 1; v < vocab; v++) {
      best = rows[r * vocab + v] > rows[r * vocab + best] ? v : best;
    }
    return best;
  }

  static void restore(String key, String old) {
    if (old == null) {
      System.clearProperty(key);
    } else {
      System.setProperty(key, old);
    }
  }
}
