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
import java.util.concurrent.CompletableFuture;
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
      for (boolean guided : new boolean[] {false, true}) {
        int words = guided ? (runner.config().vocabSize() + 31) / 32 : 0;
        List<int[]> oneAtATime = run(runner, prompts, false, words);
        List<int[]> pipelined = run(runner, prompts, true, words);
        for (int s = 0; s < SEQS; s++) {
          assertThat(pipelined.get(s)).as("%s, guided %s, sequence %d", name, guided, s)
              .isEqualTo(oneAtATime.get(s));
          for (int j = 1; guided && j <= DECODES; j++) {
            assertThat(allowed(pipelined.get(s)[j], j - 1)).as("token %d allowed", j).isTrue();
          }
        }
      }
    }
  }

  /**
   * A fed step that also admits a sequence (its prompt from the host behind the fed decodes, a
   * mixed-shape graph), which the steps after feed too: the same ids as one step at a time.
   */
  @ParameterizedTest
  @ValueSource(strings = {"qwen2-small-untied", "qwen2-small-gptq"})
  void aSequenceAdmittedIntoAFedStepGetsTheIdsOfStepsRunOneAtATime(String name) {
    Random r = new Random(12);
    List<int[]> prompts = new ArrayList<>();
    for (int s = 0; s <= SEQS; s++) {
      prompts.add(r.ints(12 + 5 * s, 0, 2048).toArray());
    }
    int joins = 5; // the decode step the last sequence joins with its prompt
    try (CudaModelRunner runner = CudaModelRunner.load(Fixtures.modelDir(name),
        new CudaModelRunner.Options(0, 16, 64, 0.9, 8, 512, 1024))) {
      int[][] alone = joining(runner, prompts, joins, false);
      int[][] ahead = joining(runner, prompts, joins, true);
      for (int s = 0; s <= SEQS; s++) {
        assertThat(ahead[s]).as("%s, sequence %d", name, s).isEqualTo(alone[s]);
      }
    }
  }

  /**
   * Sequences 0 .. SEQS - 1 prefill, then decode DECODES steps; sequence SEQS joins decode
   * step {@code joins} with its prompt and decodes from the next. Each sequence's sampled ids.
   * Ahead, step j + 1 is submitted before step j is collected, its fed rows first (the joining
   * sequence last, as the engine orders them).
   */
  private static int[][] joining(CudaModelRunner runner, List<int[]> prompts, int joins,
      boolean ahead) {
    List<List<SeqStep>> steps = new ArrayList<>();
    List<int[]> hostTokens = new ArrayList<>(); // -1 where the step before's id goes
    List<int[]> rowSeqs = new ArrayList<>();
    int[] sampled = new int[SEQS + 1];
    for (int j = 0; j <= DECODES; j++) {
      List<SeqStep> seqs = new ArrayList<>();
      List<Integer> rows = new ArrayList<>();
      IntStream.Builder tokens = IntStream.builder();
      for (int s = 0; s <= SEQS; s++) {
        int p = prompts.get(s).length;
        if (s < SEQS ? j == 0 : j == joins) {
          seqs.add(new SeqStep(p, 0, table(s), true, params(s), 11 + s, 0));
          IntStream.of(prompts.get(s)).forEach(tokens::add);
        } else if (s < SEQS || j > joins) {
          seqs.add(new SeqStep(1, p + sampled[s] - 1, table(s), true, params(s), 11 + s,
              sampled[s]));
          tokens.add(-1);
        } else {
          continue;
        }
        rows.add(s);
      }
      rows.forEach(s -> sampled[s]++);
      steps.add(seqs);
      hostTokens.add(tokens.build().toArray());
      rowSeqs.add(rows.stream().mapToInt(Integer::intValue).toArray());
    }
    int[][] out = new int[SEQS + 1][DECODES + 1];
    int[] count = new int[SEQS + 1];
    int[] last = null;
    if (ahead) {
      runner.submit(new Step(hostTokens.get(0), steps.get(0)));
    }
    for (int j = 0; j <= DECODES; j++) {
      int[] ids;
      if (ahead) {
        if (j < DECODES) {
          int[] t = hostTokens.get(j + 1);
          int fed = (int) IntStream.of(t).filter(x -> x < 0).count();
          runner.submit(new Step(t, steps.get(j + 1), null, 0, fed));
        }
        ids = runner.collect();
      } else {
        int[] t = hostTokens.get(j).clone();
        for (int i = 0; i < t.length && t[i] < 0; i++) {
          t[i] = last[i]; // decode rows lead, in the step before's row order
        }
        ids = runner.step(new Step(t, steps.get(j)));
      }
      int[] rows = rowSeqs.get(j);
      for (int i = 0; i < rows.length; i++) {
        out[rows[i]][count[rows[i]]++] = ids[i];
      }
      last = ids;
    }
    return out;
  }

  /**
   * Decode step j's mask (words ints a row, every row alike): about a seventh of the
   * vocabulary, a different seventh each step.
   */
  private static int[] mask(int j, int words) {
    int[] m = new int[SEQS * words];
    for (int t = 0; t < 32 * words; t++) {
      if (allowed(t, j)) {
        for (int s = 0; s < SEQS; s++) {
          m[s * words + (t >> 5)] |= 1 << (t & 31);
        }
      }
    }
    return m;
  }

  private static boolean allowed(int token, int j) {
    return Math.floorMod(token * 31 + j, 7) == 0;
  }

  /**
   * The prompts' prefill, then DECODES decode steps of every sequence: each one's ids. With
   * masks (words > 0), a pipelined decode step's masks arrive only after the step before it is
   * collected, as the engine's do, so its sampler runs after its forward pass was queued.
   */
  private static List<int[]> run(CudaModelRunner runner, List<int[]> prompts, boolean ahead,
      int words) {
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
        ids = runner.step(new Step(ids, decode(prompts, j), words == 0 ? null
            : CompletableFuture.completedFuture(mask(j, words)), words));
      }
    } else {
      runner.submit(first);
      for (int j = 0; j <= DECODES; j++) {
        CompletableFuture<int[]> masks = null;
        if (j < DECODES) {
          masks = words == 0 ? null : new CompletableFuture<>();
          runner.submit(new Step(new int[SEQS], decode(prompts, j), masks, words, SEQS));
        }
        int[] ids = runner.collect();
        for (int s = 0; s < SEQS; s++) {
          out[s][j] = ids[s];
        }
        if (masks != null) {
          masks.complete(mask(j, words)); // now that the ids it follows are in
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
