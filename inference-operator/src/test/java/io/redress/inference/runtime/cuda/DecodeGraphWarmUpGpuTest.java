package io.redress.inference.runtime.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.engine.SamplingParams;
import io.redress.inference.model.ModelConfig;
import io.redress.inference.runtime.SeqStep;
import io.redress.inference.runtime.Step;
import io.redress.inference.testing.Gpu;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link CudaModelRunner#warmUp()}: it captures one graph per pure decode bucket up to the
 * runner's batch limit, the decode steps after it replay those graphs without capturing any,
 * and their logits are bit for bit those of a runner that captured each graph at its first
 * step (same random weights, same steps).
 */
@Tag("gpu")
class DecodeGraphWarmUpGpuTest {

  /** Hidden 512, 8 query heads of 64, 2 KV heads, MLP 1,536, three layers. */
  private static final ModelConfig SMALL = W4ChainGpuTest.SMALL;
  private static final int PROMPT = 40;
  private static final int DECODE = 12;

  @BeforeEach
  void gpu() {
    Gpu.assumeUsable();
  }

  @Test
  void warmUpCapturesTheDecodeBucketsAndStepsReplayThemUnchanged() {
    List<float[]> warm;
    List<float[]> lazy;
    try (CudaModelRunner gpu = runner()) {
      gpu.warmUp();
      assertThat(gpu.capturedGraphs()).as("buckets 1, 2 and 4 (at most 4 sequences)")
          .isEqualTo(3);
      gpu.warmUp();
      assertThat(gpu.capturedGraphs()).as("a second warm-up captures nothing").isEqualTo(3);
      warm = run(gpu, true);
    }
    try (CudaModelRunner gpu = runner()) {
      lazy = run(gpu, false);
    }
    assertThat(warm).hasSameSizeAs(lazy);
    for (int i = 0; i < warm.size(); i++) {
      float[] a = warm.get(i);
      float[] b = lazy.get(i);
      assertThat(a).hasSameSizeAs(b);
      for (int j = 0; j < a.length; j++) {
        assertThat(Float.floatToRawIntBits(a[j])).as("step %d, logit %d", i, j)
            .isEqualTo(Float.floatToRawIntBits(b[j]));
      }
    }
  }

  private static CudaModelRunner runner() {
    return CudaModelRunner.random(SMALL, new CudaModelRunner.Options(0, 16, 64, 0.9, 4, 512,
        1024), 7);
  }

  /**
   * Two prompts in one step, then decode steps of both sequences (bucket 2) and of the first
   * alone (bucket 1), greedy; with {@code warmed}, asserts that no decode step captures a
   * graph.
   */
  private static List<float[]> run(CudaModelRunner gpu, boolean warmed) {
    int vocab = SMALL.vocabSize();
    SamplingParams greedy = SamplingParams.greedy(1);
    int[][] tables = {IntStream.range(0, 16).toArray(), IntStream.range(16, 32).toArray()};
    int[] prompt = new Random(5).ints(2 * PROMPT, 0, vocab).toArray();
    List<float[]> logits = new ArrayList<>();
    List<int[]> tokens = new ArrayList<>();
    FusedDecodeGpuTest.record(gpu.stepLogits(new Step(prompt,
        List.of(new SeqStep(PROMPT, 0, tables[0], true, greedy, 0, 0),
            new SeqStep(PROMPT, 0, tables[1], true, greedy, 0, 0)))), vocab, logits, tokens,
        null);
    int graphs = gpu.capturedGraphs();
    for (int j = 0; j < DECODE; j++) {
      int seqs = j < DECODE / 2 ? 2 : 1;
      List<SeqStep> steps = new ArrayList<>();
      for (int s = 0; s < seqs; s++) {
        steps.add(new SeqStep(1, PROMPT + j, tables[s], true, greedy, 0, j + 1));
      }
      int[] next = java.util.Arrays.copyOf(tokens.get(tokens.size() - 1), seqs);
      FusedDecodeGpuTest.record(gpu.stepLogits(new Step(next, steps)), vocab, logits, tokens,
          null);
    }
    if (warmed) {
      assertThat(gpu.capturedGraphs()).as("decode steps after the warm-up").isEqualTo(graphs);
    }
    return logits;
  }
}
