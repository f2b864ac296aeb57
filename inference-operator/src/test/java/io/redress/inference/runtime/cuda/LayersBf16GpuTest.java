package io.redress.inference.runtime.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.engine.SamplingParams;
import io.redress.inference.model.ModelConfig;
import io.redress.inference.runtime.SeqStep;
import io.redress.inference.runtime.Step;
import io.redress.inference.testing.Fixtures;
import io.redress.inference.testing.Gpu;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * One-token steps through layers_bf16.cu (every layer in one launch, {@code
 * redress.cuda.layers=true}) against the separate fused kernels ({@code false}), as the runner
 * drives them in its batch-1 graph, on the tensor-core path (16-row strips) and the CUDA-core
 * one (models too wide for a strip a stage): a long prompt (its attention cut into runs of
 * several key tiles) and a short one (one run, crossing a tile), each followed by decode steps,
 * teacher-forced on the fused run's greedy tokens. The launch sums in other orders than the
 * fused kernels, so the logits agree within bf16 noise (FusedDecodeGpuTest.TOLERANCE) and the
 * greedy tokens wherever the margin is clear of it; it is deterministic (a second run gives
 * the same bits); its cache writes are the fused kernels' (the decode steps after it read
 * them); and the id it picks after its LM head is the logits' greedy one.
 */
@Tag("gpu")
class LayersBf16GpuTest {

  /** Head dim 128: hidden 512, 3 layers, 4 query heads, 2 KV heads, MLP 1,024. */
  private static final ModelConfig HD128 = new ModelConfig(512, 1024, 3, 4, 2, 128, 1000, 2048,
      1e6, 1e-6, false, "bfloat16", List.of());
  /**
   * Hidden 1,024 (head dim 128, 8 query heads, 2 KV heads, MLP 2,048, 2 layers): 16 rows of it
   * outgrow a ring stage, so its projections take the CUDA-core path, as 1.5B's do.
   */
  private static final ModelConfig WIDE = new ModelConfig(1024, 2048, 2, 8, 2, 128, 1000, 2048,
      1e6, 1e-6, false, "bfloat16", List.of());
  private static final int LONG = 600;
  private static final int SHORT = 20;
  private static final int DECODE = 16;

  @BeforeEach
  void gpu() {
    Gpu.assumeUsable();
  }

  @Test
  void headDim64FixtureMatchesTheFusedKernels() {
    check("qwen2-small-untied", () -> CudaModelRunner.load(
        Fixtures.modelDir("qwen2-small-untied"), options()));
  }

  @Test
  void headDim128MatchesTheFusedKernels() {
    check("head_dim 128", () -> CudaModelRunner.random(HD128, options(), 11));
  }

  @Test
  void wideModelOnTheCudaCoresMatchesTheFusedKernels() {
    check("hidden 1,024", () -> CudaModelRunner.random(WIDE, options(), 13));
  }

  private static CudaModelRunner.Options options() {
    return new CudaModelRunner.Options(0, 16, 128, 0.9, 4, 1024, 2048);
  }

  /**
   * Past redress.cuda.layersMaxContext keys a one-token step takes the separate kernels (and
   * graphs of its own): here A's decode steps (600 keys and more, over a cap of 300) while B's
   * (20 and more) still take the launch, in the same runner.
   */
  @Test
  void longContextStepsTakeTheSeparateKernels() {
    Supplier<CudaModelRunner> load = () -> CudaModelRunner.random(HD128, options(), 11);
    FusedDecodeGpuTest.Run fused = run(load, false, null, 0);
    String old = System.setProperty("redress.cuda.layersMaxContext", "300");
    try {
      FusedDecodeGpuTest.Run mixed = run(load, true, fused.tokens(), DECODE);
      FusedDecodeGpuTest.assertMatches("long contexts on the separate kernels", fused, mixed);
    } finally {
      FusedDecodeGpuTest.restore("redress.cuda.layersMaxContext", old);
    }
  }

  private static void check(String what, Supplier<CudaModelRunner> load) {
    FusedDecodeGpuTest.Run fused = run(load, false, null, 0);
    FusedDecodeGpuTest.Run layers = run(load, true, fused.tokens(), 2 * DECODE);
    FusedDecodeGpuTest.assertMatches(what + " (all layers in one launch)", fused, layers);
    FusedDecodeGpuTest.assertSameBits(what,
        layers, run(load, true, fused.tokens(), 2 * DECODE));
  }

  /**
   * Sequence A's long prompt then DECODE one-token steps, then B's short prompt and DECODE
   * steps of B alone; tokens forced when given, else greedy. {@code oneLaunch}: the steps
   * that must have run in one launch.
   */
  private static FusedDecodeGpuTest.Run run(Supplier<CudaModelRunner> load, boolean layers,
      List<int[]> forced, int oneLaunch) {
    String old = System.setProperty("redress.cuda.layers", String.valueOf(layers));
    try (CudaModelRunner gpu = load.get()) {
      assertThat(gpu.allLayersInOneLaunch()).as("layers_bf16 taken").isEqualTo(layers);
      int vocab = gpu.config().vocabSize();
      Random random = new Random(17);
      SamplingParams greedy = SamplingParams.greedy(1);
      List<float[]> logits = new ArrayList<>();
      List<int[]> tokens = new ArrayList<>();
      int[][] tables = {IntStream.range(0, 64).toArray(), IntStream.range(64, 128).toArray()};
      int[] lengths = {LONG, SHORT};
      for (int s = 0; s < 2; s++) {
        int[] prompt = random.ints(lengths[s], 0, Math.min(vocab, 1000)).toArray();
        record(gpu, new Step(prompt,
            List.of(new SeqStep(prompt.length, 0, tables[s], true, greedy, s, 0))), logits,
            tokens, forced);
        int pos = prompt.length;
        for (int j = 0; j < DECODE; j++, pos++) {
          int next = tokens.get(tokens.size() - 1)[0];
          record(gpu, new Step(new int[] {next},
              List.of(new SeqStep(1, pos, tables[s], true, greedy, s, j + 1))), logits, tokens,
              forced);
        }
      }
      assertThat(gpu.oneLaunchSteps()).as("steps in one launch").isEqualTo(oneLaunch);
      return new FusedDecodeGpuTest.Run(logits, tokens);
    } finally {
      FusedDecodeGpuTest.restore("redress.cuda.layers", old);
    }
  }

  /**
   * Runs a step and records its logits and greedy token; the id the runner sampled (on a
   * one-token step of the one launch, its own pick after the LM head) is the logits' greedy
   * pick, lowest id on ties.
   */
  private static void record(CudaModelRunner gpu, Step step, List<float[]> logits,
      List<int[]> tokens, List<int[]> forced) {
    float[] rows = gpu.stepLogits(step);
    int vocab = gpu.config().vocabSize();
    FusedDecodeGpuTest.record(rows, vocab, logits, tokens, forced);
    assertThat(gpu.lastSampled(1)[0]).as("sampled id, step %d", tokens.size())
        .isEqualTo(FusedDecodeGpuTest.argmax(rows, vocab, 0));
  }
}
