package io.redress.inference.runtime.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.model.ModelConfig;
import io.redress.inference.model.RandomCheckpoint;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ways of running the same tokens through the CPU model (all at once, one at a time,
 * several sequences in one step, scattered cache slots) must give the same logits. HF
 * agreement itself is {@link CpuModelReferenceTest}'s job.
 */
class CpuModelConsistencyTest {

  private static final ModelConfig CONFIG = new ModelConfig(64, 96, 2, 4, 2, 16, 300, 256,
      10000.0, 1e-6, false, "bfloat16", List.of(1));
  private static CpuModel model;

  @BeforeAll
  static void load(@TempDir Path dir) throws IOException {
    RandomCheckpoint.write(CONFIG, dir, 7);
    model = CpuModel.load(dir);
  }

  private static int[] randomTokens(int n, long seed) {
    Random r = new Random(seed);
    int[] t = new int[n];
    for (int i = 0; i < n; i++) {
      t[i] = r.nextInt(CONFIG.vocabSize());
    }
    return t;
  }

  private static int[] identity(int n) {
    int[] s = new int[n];
    for (int i = 0; i < n; i++) {
      s[i] = i;
    }
    return s;
  }

  private static float[] row(float[] logits, int r) {
    int v = CONFIG.vocabSize();
    float[] out = new float[v];
    System.arraycopy(logits, r * v, out, 0, v);
    return out;
  }

  private static void assertClose(float[] actual, float[] expected) {
    float max = 0;
    for (float e : expected) {
      max = Math.max(max, Math.abs(e));
    }
    for (int i = 0; i < expected.length; i++) {
      assertThat(Math.abs(actual[i] - expected[i])).as("logit %d", i)
          .isLessThanOrEqualTo(1e-4f * max);
    }
  }

  @Test
  void incrementalDecodeEqualsTeacherForcing() {
    int[] tokens = randomTokens(20, 1);
    float[] all = model.forward(tokens, List.of(new SeqSpan(0, 20, 0, identity(20))),
        model.newCache(20), true);
    KvCache cache = model.newCache(20);
    // A 7-token prefill chunk, a 5-token chunk, then single decode steps.
    int pos = 0;
    for (int chunk : new int[] {7, 5, 1, 1, 1, 1, 1, 1, 1, 1}) {
      int[] part = java.util.Arrays.copyOfRange(tokens, pos, pos + chunk);
      float[] last = model.forward(part, List.of(new SeqSpan(0, chunk, pos, identity(20))),
          cache, false);
      pos += chunk;
      assertClose(last, row(all, pos - 1));
    }
  }

  @Test
  void mixedBatchWithScatteredSlotsEqualsSequencesAlone() {
    int[] a = randomTokens(12, 2);
    int[] b = randomTokens(9, 3);
    float[] aloneA = model.forward(a, List.of(new SeqSpan(0, 12, 0, identity(12))),
        model.newCache(12), false);
    float[] aloneB = model.forward(b, List.of(new SeqSpan(0, 9, 0, identity(9))),
        model.newCache(9), false);

    // Both sequences share one cache, their positions scattered over shuffled slots.
    List<Integer> slotPool = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      slotPool.add(i);
    }
    Collections.shuffle(slotPool, new Random(4));
    int[] slotsA = slotPool.subList(0, 12).stream().mapToInt(i -> i).toArray();
    int[] slotsB = slotPool.subList(12, 21).stream().mapToInt(i -> i).toArray();
    KvCache cache = model.newCache(40);
    // Step 1: A prefills 11 tokens, B prefills 4.
    int[] step1 = new int[15];
    System.arraycopy(a, 0, step1, 0, 11);
    System.arraycopy(b, 0, step1, 11, 4);
    model.forward(step1, List.of(new SeqSpan(0, 11, 0, slotsA), new SeqSpan(11, 4, 0, slotsB)),
        cache, false);
    // Step 2: A decodes its last token while B prefills the rest in the same step.
    int[] step2 = new int[6];
    step2[0] = a[11];
    System.arraycopy(b, 4, step2, 1, 5);
    float[] mixed = model.forward(step2,
        List.of(new SeqSpan(0, 1, 11, slotsA), new SeqSpan(1, 5, 4, slotsB)), cache, false);
    assertClose(row(mixed, 0), aloneA);
    assertClose(row(mixed, 1), aloneB);
  }

  @Test
  void greedyGenerationIsDeterministicAndStopsAtEos() {
    CpuGenerator generator = new CpuGenerator(model);
    int[] prompt = randomTokens(6, 5);
    var first = generator.generate(prompt, io.redress.inference.engine.SamplingParams.greedy(16)
        .withIgnoreEos(true), id -> { });
    var second = generator.generate(prompt, io.redress.inference.engine.SamplingParams
        .greedy(16).withIgnoreEos(true), id -> { });
    assertThat(first.tokenIds()).hasSize(16).isEqualTo(second.tokenIds());
    assertThat(first.finish()).isEqualTo(CpuGenerator.Finish.LENGTH);

    // Make the 3rd generated token a stop id: generation must end right there.
    int stop = first.tokenIds().get(2);
    var stopped = generator.generate(prompt, io.redress.inference.engine.SamplingParams
        .greedy(16).withIgnoreEos(true).withStopTokenIds(List.of(stop)), id -> { });
    assertThat(stopped.finish()).isEqualTo(CpuGenerator.Finish.STOP);
    assertThat(stopped.tokenIds()).isEqualTo(first.tokenIds().subList(0,
        first.tokenIds().indexOf(stop) + 1));
  }
}
