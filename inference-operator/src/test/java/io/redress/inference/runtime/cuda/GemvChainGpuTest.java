package io.redress.inference.runtime.cuda;

import io.redress.inference.model.ModelConfig;
import io.redress.inference.runtime.KvCacheDtype;
import io.redress.inference.testing.Gpu;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The one-token bf16 chain (gemv_chain.cu: a layer's O, gate/up and down projections and the
 * next layer's QKV in one launch, each warp streaming its own rows through a cp.async ring,
 * {@code redress.cuda.bf16Chain}) against the separate fused GEMVs, as {@link W4ChainGpuTest}
 * checks the GPTQ chain: a prompt, then decode steps in CUDA graphs, teacher-forced on the
 * separate kernels' greedy tokens. The projections' sums have the fused GEMVs' order, but the
 * norm prologue's block is another size, so a normed activation may differ by a bf16 ulp: the
 * logits agree within bf16 noise, and a second run gives the same bits.
 */
@Tag("gpu")
class GemvChainGpuTest {

  /**
   * Qwen2.5-0.5B's widths (hidden 896, 14 query heads of 64, 2 KV heads, MLP 4,864): units
   * fewer than the grid's warps in every phase but gate/up, a down row of 19 stages.
   */
  private static final ModelConfig HALF_B = new ModelConfig(896, 4864, 3, 14, 2, 64, 4096,
      1024, 1000000, 1e-6, false, "bfloat16", List.of());

  @BeforeEach
  void gpu() {
    Gpu.assumeUsable();
  }

  @Test
  void chainMatchesTheSeparateKernels() {
    W4ChainGpuTest.check(W4ChainGpuTest.SMALL, 0, KvCacheDtype.AUTO);
    W4ChainGpuTest.check(HALF_B, 0, KvCacheDtype.AUTO);
  }

  /** Every phase with more units than the grid has warps: warps take several in turn. */
  @Test
  void chainTakingSeveralUnitsAWarpMatchesTheSeparateKernels() {
    W4ChainGpuTest.check(W4ChainGpuTest.WIDE, 0, KvCacheDtype.AUTO);
  }

  /** Over an FP8 cache the last phase writes the next layer's QKV rows for the cache writer. */
  @Test
  void chainOverAnFp8CacheMatchesTheSeparateKernels() {
    W4ChainGpuTest.check(W4ChainGpuTest.SMALL, 0, KvCacheDtype.FP8);
    W4ChainGpuTest.check(HALF_B, 0, KvCacheDtype.FP8);
  }

  /** Two sequences decoding together: steps of two tokens take the chain too. */
  @Test
  void chainOverTwoSequencesMatchesTheSeparateKernels() {
    FusedDecodeGpuTest.Run separate =
        W4ChainGpuTest.run(HALF_B, 0, false, null, KvCacheDtype.AUTO, 2);
    FusedDecodeGpuTest.Run chain =
        W4ChainGpuTest.run(HALF_B, 0, true, separate.tokens(), KvCacheDtype.AUTO, 2);
    FusedDecodeGpuTest.assertMatches("two sequences, bf16 chain", separate, chain);
  }
}
