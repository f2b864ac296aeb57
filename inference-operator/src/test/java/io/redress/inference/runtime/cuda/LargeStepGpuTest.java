package io.redress.inference.runtime.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.engine.SamplingParams;
import io.redress.inference.model.ModelConfig;
import io.redress.inference.runtime.SeqStep;
import io.redress.inference.runtime.Step;
import io.redress.inference.testing.Gpu;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A step of more tokens than a grid's y dimension holds (65,535), as a large
 * maxNumBatchedTokens allows: every kernel of the prompt path launches at that size (the
 * SiLU-and-mul kernels' did not), and each sequence's logits are the ones it gets in a step
 * of its own, to bf16 noise (cuBLAS may pick other algorithms for other row counts).
 */
@Tag("gpu")
class LargeStepGpuTest {

  /** Hidden 128, 2 layers, 2 query heads of 64, 1 KV head, MLP 256. */
  private static final ModelConfig TINY = new ModelConfig(128, 256, 2, 2, 1, 64, 1000, 512,
      10000, 1e-6, false, "bfloat16", List.of());
  private static final int SEQS = 280;
  private static final int LEN = 250; // 70,000 tokens in one step

  @BeforeEach
  void gpu() {
    Gpu.assumeUsable();
  }

  @Test
  void aStepOfMoreTokensThanAGridDimensionGivesEachSequenceItsOwnLogits() {
    int blocksPerSeq = (LEN + 15) / 16;
    try (CudaModelRunner gpu = CudaModelRunner.random(TINY, new CudaModelRunner.Options(0, 16,
        SEQS * blocksPerSeq + blocksPerSeq, 0.9, SEQS, SEQS * LEN, LEN + 16), 7)) {
      int vocab = TINY.vocabSize();
      int[] prompts = new Random(5).ints((long) SEQS * LEN, 0, vocab).toArray();
      SamplingParams greedy = SamplingParams.greedy(1);
      List<SeqStep> all = new ArrayList<>();
      for (int s = 0; s < SEQS; s++) {
        int[] table = IntStream.range(s * blocksPerSeq, (s + 1) * blocksPerSeq).toArray();
        all.add(new SeqStep(LEN, 0, table, true, greedy, s, 0));
      }
      float[] big = gpu.stepLogits(new Step(prompts, all));
      assertThat(big).hasSize(SEQS * vocab);
      // Alone, each in the spare blocks past the others'.
      int[] spare = IntStream.range(SEQS * blocksPerSeq, (SEQS + 1) * blocksPerSeq).toArray();
      for (int s : new int[] {0, SEQS / 2, SEQS - 1}) {
        int[] prompt = Arrays.copyOfRange(prompts, s * LEN, (s + 1) * LEN);
        float[] alone = gpu.stepLogits(new Step(prompt,
            List.of(new SeqStep(LEN, 0, spare, true, greedy, s, 0))));
        float[] row = Arrays.copyOfRange(big, s * vocab, (s + 1) * vocab);
        double maxAbs = 0;
        double maxDiff = 0;
        for (int v = 0; v < vocab; v++) {
          assertThat(Float.isFinite(row[v])).as("sequence %d, logit %d: finite", s, v).isTrue();
          maxAbs = Math.max(maxAbs, Math.abs(alone[v]));
          maxDiff = Math.max(maxDiff, Math.abs(alone[v] - row[v]));
        }
        assertThat(maxAbs).as("sequence %d: logits", s).isGreaterThan(0);
        assertThat(maxDiff).as("sequence %d: |big step - alone|", s)
            .isLessThanOrEqualTo(FusedDecodeGpuTest.TOLERANCE * maxAbs);
      }
    }
  }
}
