package io.redress.inference.runtime.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.engine.SamplingParams;
import io.redress.inference.model.ModelConfig;
import io.redress.inference.runtime.KvCacheDtype;
import io.redress.inference.runtime.SeqStep;
import io.redress.inference.runtime.Step;
import io.redress.inference.testing.Gpu;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The one-token GPTQ chain (w4a16_chain.cu: a layer's O, gate/up and down projections and the
 * next layer's QKV in one launch, {@code redress.cuda.w4Chain}) against the separate fused W4
 * kernels, over bf16 and FP8 caches, on a random-weight GPTQ model of three layers: a prompt, then decode steps of one
 * sequence in CUDA graphs, teacher-forced on the separate kernels' greedy tokens. The chain
 * splits each projection's inputs among its warps in another order and scales a pair of
 * chunks at once, so the logits agree within bf16 noise and the greedy tokens wherever the
 * top-2 margin is clear of it; and it is deterministic: a second run gives the same bits.
 * The random models' zero points are all 8 (symmetric GPTQ), so the chain reads scales
 * without them (its _z8 twin) unless {@code redress.cuda.scalesZ8=false}.
 */
@Tag("gpu")
class W4ChainGpuTest {

  /** Hidden 512, 8 query heads of 64, 2 KV heads, MLP 1,536: fewer groups than SMs. */
  static final ModelConfig SMALL = new ModelConfig(512, 1536, 3, 8, 2, 64, 4096, 1024,
      10000, 1e-6, false, "bfloat16", List.of());
  /**
   * Hidden 4,096, 32 query heads of 128, 4 KV heads, MLP 4,352: the gate/up and QKV phases have
   * more groups than an H100 has SMs, so blocks take several in turn.
   */
  private static final ModelConfig WIDE = new ModelConfig(4096, 4352, 3, 32, 4, 128, 4096,
      1024, 10000, 1e-6, false, "bfloat16", List.of());
  /**
   * Hidden 4,608, 36 query heads of 128, 6 KV heads, MLP 4,352: the O and down phases have 144
   * groups, a few more than an H100's 132 SMs, so the blocks' equal runs of input pairs cut most
   * groups in two, a partner's part and an owner's (w4a16_chain.cu's chain_run).
   */
  private static final ModelConfig SPLIT = new ModelConfig(4608, 4352, 3, 36, 6, 128, 4096,
      1024, 10000, 1e-6, false, "bfloat16", List.of());
  private static final int PROMPT = 150;
  private static final int DECODE = 32;

  @BeforeEach
  void gpu() {
    Gpu.assumeUsable();
  }

  @ParameterizedTest
  @ValueSource(ints = {64, 128})
  void chainMatchesTheSeparateKernels(int group) {
    check(SMALL, group);
  }

  @Test
  void chainTakingSeveralGroupsABlockMatchesTheSeparateKernels() {
    check(WIDE, 128);
  }

  @Test
  void chainSplittingGroupsBetweenBlocksMatchesTheSeparateKernels() {
    check(SPLIT, 128);
  }

  /**
   * Over an FP8 cache the chain's last phase writes the next layer's QKV rows and the FP8
   * cache writer follows it; the attention before it launches it early all the same.
   */
  @ParameterizedTest
  @ValueSource(ints = {64, 128})
  void chainOverAnFp8CacheMatchesTheSeparateKernels(int group) {
    check(SMALL, group, KvCacheDtype.FP8);
    check(WIDE, group, KvCacheDtype.FP8);
  }

  /**
   * The kernel's own equal runs of input pairs ({@code redress.cuda.chainRuns=equal}) instead
   * of the runner's cost-balanced ones (Kernels.w4ChainRuns).
   */
  @Test
  void chainOverEqualRunsMatchesTheSeparateKernels() {
    String old = System.setProperty("redress.cuda.chainRuns", "equal");
    try {
      check(WIDE, 128);
      check(SPLIT, 128);
    } finally {
      FusedDecodeGpuTest.restore("redress.cuda.chainRuns", old);
    }
  }

  /** The twin over scales with their zero points (asymmetric GPTQ's layout). */
  @ParameterizedTest
  @ValueSource(ints = {64, 128})
  void chainOverScalesWithZeroPointsMatchesTheSeparateKernels(int group) {
    String old = System.setProperty("redress.cuda.scalesZ8", "false");
    try {
      check(SMALL, group);
      check(SPLIT, group);
    } finally {
      FusedDecodeGpuTest.restore("redress.cuda.scalesZ8", old);
    }
  }

  /**
   * Scales without zero points (these symmetric models' default) against the same model with
   * them: the same arithmetic (128 + 8 in bf16 either way), so the same bits, through the
   * one- and two-token chains and, at 12 sequences, the many-token kernels' twins.
   */
  @ParameterizedTest
  @ValueSource(ints = {1, 2, 12})
  void scalesWithoutZeroPointsGiveTheSameBits(int seqs) {
    FusedDecodeGpuTest.Run z8 = run(SPLIT, 128, true, null, KvCacheDtype.AUTO, seqs);
    String old = System.setProperty("redress.cuda.scalesZ8", "false");
    try {
      FusedDecodeGpuTest.Run full = run(SPLIT, 128, true, z8.tokens(), KvCacheDtype.AUTO, seqs);
      for (int i = 0; i < z8.logits().size(); i++) {
        float[] a = z8.logits().get(i);
        float[] b = full.logits().get(i);
        for (int j = 0; j < a.length; j++) {
          assertThat(Float.floatToRawIntBits(a[j])).as("%d sequences, step %d, logit %d: scales"
              + " without zero points", seqs, i, j).isEqualTo(Float.floatToRawIntBits(b[j]));
        }
      }
    } finally {
      FusedDecodeGpuTest.restore("redress.cuda.scalesZ8", old);
    }
  }

  /**
   * Two sequences decoding together: steps of two tokens take the chain too where both
   * tokens' activations fit beside its ring ({@code redress.cuda.chainMaxTokens}).
   */
  @Test
  void chainOverTwoSequencesMatchesTheSeparateKernels() {
    FusedDecodeGpuTest.Run separate = run(SMALL, 128, false, null, KvCacheDtype.AUTO, 2);
    FusedDecodeGpuTest.Run chain =
        run(SMALL, 128, true, separate.tokens(), KvCacheDtype.AUTO, 2);
    FusedDecodeGpuTest.assertMatches("two sequences, GPTQ group 128, chain", separate, chain);
  }

  /**
   * Activations beyond fp16's range: the chain stages them as fp16 (w4a16_chain.cu's
   * chain_prologue), so where the largest exceeds 65,504 it stages them all again times a power
   * of two and multiplies the sums back. Here layer 1's post-attention norm weights are all
   * 131,072, so its gate/up inputs (RMSNorm) reach some 4e5 and its down inputs (SiLU times
   * up, a copy) far more; bf16's range takes them, and the separate kernels read them as bf16.
   * Without the rescaling the chain's sums would be infinite and its logits NaN. One sequence
   * runs the one-token twins (w4_chain_one...), two the two-token kernels: each rescales in its
   * own build of chain_run.
   */
  @ParameterizedTest
  @ValueSource(ints = {1, 2})
  void chainOverActivationsBeyondFp16MatchesTheSeparateKernels(int seqs) {
    FusedDecodeGpuTest.Run separate =
        run(SMALL, 128, false, null, KvCacheDtype.AUTO, seqs, true);
    FusedDecodeGpuTest.Run chain =
        run(SMALL, 128, true, separate.tokens(), KvCacheDtype.AUTO, seqs, true);
    FusedDecodeGpuTest.assertMatches("activations beyond fp16, " + seqs + " sequences, chain",
        separate, chain);
  }

  private static void check(ModelConfig config, int group) {
    check(config, group, KvCacheDtype.AUTO);
  }

  private static void check(ModelConfig config, int group, KvCacheDtype kv) {
    FusedDecodeGpuTest.Run separate = run(config, group, false, null, kv);
    FusedDecodeGpuTest.Run chain = run(config, group, true, separate.tokens(), kv);
    FusedDecodeGpuTest.assertMatches("hidden " + config.hiddenSize() + ", GPTQ group " + group
        + ", " + kv + " cache, chain", separate, chain);
    FusedDecodeGpuTest.Run again = run(config, group, true, separate.tokens(), kv);
    for (int i = 0; i < chain.logits().size(); i++) {
      float[] a = chain.logits().get(i);
      float[] b = again.logits().get(i);
      for (int j = 0; j < a.length; j++) {
        assertThat(Float.floatToRawIntBits(b[j])).as("group %d, step %d, logit %d: second run",
            group, i, j).isEqualTo(Float.floatToRawIntBits(a[j]));
      }
    }
  }

  /**
   * Runs a step of {@code rows} greedy sampling rows and returns its logits; the ids the runner
   * sampled are the logits' greedy ones, lowest id on ties: the LM head GEMV's own pick on
   * fused steps of one or two rows (Kernels.gemvPick, no sampler launched), the sampler's on
   * the others.
   */
  private static float[] stepPicked(CudaModelRunner gpu, Step step, int rows) {
    float[] logits = gpu.stepLogits(step);
    int vocab = gpu.config().vocabSize();
    int[] sampled = gpu.lastSampled(rows);
    for (int r = 0; r < rows; r++) {
      assertThat(sampled[r]).as("row %d of %d: sampled id", r, rows)
          .isEqualTo(FusedDecodeGpuTest.argmax(logits, vocab, r));
    }
    return logits;
  }

  /** One sequence: the prefill path, then the batch-1 graph. */
  private static FusedDecodeGpuTest.Run run(ModelConfig config, int group, boolean chain,
      List<int[]> forced, KvCacheDtype kv) {
    return run(config, group, chain, forced, kv, 1);
  }

  /**
   * {@code seqs} prompts in one step (PROMPT tokens, 37 fewer for the second; from 3
   * sequences on, 20 + 2 s tokens), then DECODE steps of a token for each (the
   * batch-{@code seqs} graph).
   */
  private static FusedDecodeGpuTest.Run run(ModelConfig config, int group, boolean chain,
      List<int[]> forced, KvCacheDtype kv, int seqs) {
    return run(config, group, chain, forced, kv, seqs, false);
  }

  /**
   * With {@code hugeNorm}, layer 1's post-attention norm weights are all 131,072 (bf16 0x4800)
   * before the first step.
   */
  private static FusedDecodeGpuTest.Run run(ModelConfig config, int group, boolean chain,
      List<int[]> forced, KvCacheDtype kv, int seqs, boolean hugeNorm) {
    String old = System.setProperty("redress.cuda.w4Chain", String.valueOf(chain));
    try (CudaModelRunner gpu = CudaModelRunner.random(config,
        new CudaModelRunner.Options(0, 16, 64, 0.9, Math.max(4, seqs), 512, 1024, kv), 7,
        group)) {
      if (chain) {
        Assumptions.assumeTrue(gpu.usesW4Chain(), "the chain needs Hopper's bulk copies");
        assertThat(gpu.usesScalesZ8()).as("scales without zero points")
            .isEqualTo(!"false".equals(System.getProperty("redress.cuda.scalesZ8")));
      } else {
        assertThat(gpu.usesW4Chain()).isFalse();
      }
      if (hugeNorm) {
        JCudaDriver.cuMemsetD16(gpu.weights().layers.get(1).postNorm().ptr(), (short) 0x4800,
            config.hiddenSize());
        JCudaDriver.cuCtxSynchronize();
      }
      int vocab = config.vocabSize();
      int[] lengths = new int[seqs];
      int[][] tables = new int[seqs][];
      for (int s = 0; s < seqs; s++) {
        lengths[s] = seqs <= 2 ? PROMPT - 37 * s : 20 + 2 * s;
        tables[s] = IntStream.range(64 * s / seqs, 64 * (s + 1) / seqs).toArray();
      }
      int[] prompts = new Random(5).ints(IntStream.of(lengths).sum(), 0, vocab).toArray();
      SamplingParams greedy = SamplingParams.greedy(1);
      List<float[]> logits = new ArrayList<>();
      List<int[]> tokens = new ArrayList<>();
      List<SeqStep> prefill = new ArrayList<>();
      for (int s = 0; s < seqs; s++) {
        prefill.add(new SeqStep(lengths[s], 0, tables[s], true, greedy, s, 0));
      }
      FusedDecodeGpuTest.record(stepPicked(gpu, new Step(prompts, prefill), seqs), vocab,
          logits, tokens, forced);
      for (int j = 0; j < DECODE; j++) {
        int[] next = java.util.Arrays.copyOf(tokens.get(tokens.size() - 1), seqs);
        List<SeqStep> decode = new ArrayList<>();
        for (int s = 0; s < seqs; s++) {
          decode.add(new SeqStep(1, lengths[s] + j, tables[s], true, greedy, s, j + 1));
        }
        FusedDecodeGpuTest.record(stepPicked(gpu, new Step(next, decode), seqs), vocab,
            logits, tokens, forced);
      }
      return new FusedDecodeGpuTest.Run(logits, tokens);
    } finally {
      FusedDecodeGpuTest.restore("redress.cuda.w4Chain", old);
    }
  }
}
