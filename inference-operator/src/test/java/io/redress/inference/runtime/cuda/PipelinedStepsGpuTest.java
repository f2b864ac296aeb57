package io.redress.inference.runtime.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.engine.SamplingParams;
import io.redress.inference.runtime.SeqStep;
import io.redress.inference.runtime.Step;
import io.redress.inference.testing.Fixtures;
import io.redress.inference.testing.Gpu;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Steps submitted ahead ({@link CudaModelRunner#submit}, each decode step fed on the device
 * with the ids the step before sampled, and submitted before that step is collected) give
 * exactly the ids of steps run one at a time with the ids passed from the host: greedy and
 * seeded rows, through the decode graphs.
 */
@Tag("gpu")
class PipelinedStepsGpuTest {

  private static final int SEQS = 3;
  private static final int DECODES = 24;

  @BeforeEach
  void gpu() {
    Gpu.assumeUsable();
  }

  @ParameterizedTest
  @ValueSource(strings = {"qwen2-small-untied", "qwen2-small-gptq"})
  void fedStepsGiveTheIdsOfStepsRunOneAtATime(String name) {
    Random r = new Random(9);
    List<int[]> prompts = new ArrayList<>();
    for (int s = 0; s < SEQS; s++) {
      prompts.add(r.ints(10 + 7 * s, 0, 2048).toArray());
    }
    try (CudaModelRunner runner = CudaModelRunner.load(Fixtures.modelDir(name),
        new CudaModelRunner.Options(0, 16, 64, 0.9, 8, 512, 1024))) {
      assertThat(runner.pipelines()).isTrue();
      List<int[]> oneAtATime = run(runner, prompts, false);
      List<int[]> pipelined = run(runner, prompts, true);
      for (int s = 0; s < SEQS; s++) {
        assertThat(pipelined.get(s)).as("%s, sequence %d", name, s).isEqualTo(oneAtATime.get(s));
      }
    }
  }

  /** The prompts' prefill, then DECODES decode steps of every sequence: each one's ids. */
  private static List<int[]> run(CudaModelRunner runner, List<int[]> prompts, boolean ahead) {
    int[][] out = new int[SEQS][DECODES + 1];
    int[] tokens = IntStream.range(0, SEQS).flatMap(s -> IntStream.of(prompts.get(s))).toArray();
    List<SeqStep> prefill = new ArrayList<>();
    for (int s = 0; s < SEQS; s++) {
      prefill.add(new SeqStep(prompts.get(s).length, 0, table(s), true, params(s), 11 + s, 0));
    }
    Step first = new Step(tokens, prefill);
    if (!ahead) {
      int[] ids = runner.step(first);
      for (int j = 0; ; j++) {
        for (int s = 0; s < SEQS; s++) {
          out[s][j] = ids[s];
        }
        if (j == DECODES) {
          break;
        }
        ids = runner.step(new Step(ids, decode(prompts, j)));
      }
    } else {
      runner.submit(first);
      for (int j = 0; j <= DECODES; j++) {
        if (j < DECODES) {
          runner.submit(new Step(new int[SEQS], decode(prompts, j), null, 0, true));
        }
        int[] ids = runner.collect();
        for (int s = 0; s < SEQS; s++) {
          out[s][j] = ids[s];
        }
      }
    }
    return List.of(out);
  }

  /** Decode step j: each sequence's token j (sampled after its prompt or decode j - 1). */
  private static List<SeqStep> decode(List<int[]> prompts, int j) {
    List<SeqStep> seqs = new ArrayList<>();
    for (int s = 0; s < SEQS; s++) {
      seqs.add(new SeqStep(1, prompts.get(s).length + j, table(s), true, params(s), 11 + s,
          j + 1));
    }
    return seqs;
  }

  /** Sequence s's blocks: 8 of their own (up to 128 positions). */
  private static int[] table(int s) {
    return IntStream.range(8 * s, 8 * s + 8).toArray();
  }

  /** Greedy, then seeded sampling, so the fed ids also drive the draws. */
  private static SamplingParams params(int s) {
    SamplingParams greedy = SamplingParams.greedy(DECODES + 1).withIgnoreEos(true);
    return s == 0 ? greedy : greedy.withTemperature(0.7 + 0.1 * s).withTopK(50);
  }
}
