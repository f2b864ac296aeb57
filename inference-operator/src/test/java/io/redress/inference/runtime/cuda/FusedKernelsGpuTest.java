package io.redress.inference.runtime.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The fused decode kernels (gemv_fused.cu, split-K attention) against the unfused kernels they
 * replace, on random data at the fixture, Qwen2.5-0.5B and 7B shapes and 1 to
 * {@link Kernels#FUSED_MAX_TOKENS} tokens. The residual GEMV rounds exactly as gemv + add do,
 * so it must match bit for bit; the normed GEMVs reduce the norm in another order than
 * add_rmsnorm_bf16, and split-K attention sums in another order, so they match within bf16
 * rounding (two bf16 ulps of the largest reference value) and are checked to be deterministic
 * and independent of the batch. The residual GEMV is also checked against double-precision
 * host math.
 */
@Tag("gpu")
class FusedKernelsGpuTest extends KernelGpuTest {

  /**
   * |fused - unfused| <= TOLERANCE x max |unfused|: two bf16 ulps (the outputs are bf16;
   * anything beyond a rounding flip is a bug).
   */
  static final double TOLERANCE = BF16_TOLERANCE;

  /** A model's shapes: hidden, heads, KV heads, head_dim, intermediate. */
  record Shape(String name, int hidden, int heads, int kvHeads, int headDim, int inter) {
    int qSize() {
      return heads * headDim;
    }

    int kvSize() {
      return kvHeads * headDim;
    }

    @Override
    public String toString() {
      return name;
    }
  }

  static final List<Shape> SHAPES = List.of(
      new Shape("tiny", 16, 2, 1, 8, 48),
      new Shape("small", 256, 4, 2, 64, 512),
      new Shape("qwen2.5-0.5b", 896, 14, 2, 64, 4864),
      new Shape("qwen2.5-7b", 3584, 28, 4, 128, 18944));

  static Stream<Arguments> shapesAndTokens() {
    return SHAPES.stream().flatMap(s -> IntStream.rangeClosed(1, Kernels.FUSED_MAX_TOKENS)
        .mapToObj(t -> Arguments.of(s, t)));
  }

  @ParameterizedTest
  @MethodSource("shapesAndTokens")
  void normQkvRopeMatchesNormGemvRope(Shape s, int tokens) {
    int rows = s.qSize() + 2 * s.kvSize();
    float eps = 1e-6f;
    float theta = 1e6f;
    DeviceBuffer x = floats(gaussian(tokens * s.hidden(), 1, 3f));
    DeviceBuffer normW = bf16(s.hidden(), 2, 1f, 0.1f);
    DeviceBuffer w = bf16((long) rows * s.hidden(), 3, 0f, 0.05f);
    DeviceBuffer bias = bf16(rows, 4, 0f, 0.1f);
    // Positions near and far (RoPE angles), and a padding token (-1: no cache write).
    int[] pos = slice(new int[] {17, 3000, -1, 0}, tokens);
    int[] slot = slice(new int[] {3, 9, -1, 12}, tokens);
    // Unfused: norm, GEMV (bias + RoPE + cache write in the check).
    DeviceBuffer h = alloc(2L * tokens * s.hidden());
    DeviceBuffer qkv = alloc(4L * tokens * rows);
    kernels.addRmsnorm(x.ptr(), null, null, normW.ptr(), h.ptr(), s.hidden(), eps, tokens);
    kernels.gemv(h.ptr(), w.ptr(), qkv.ptr(), tokens, rows, s.hidden());
    checkQkvRope(s.toString(), s.heads(), s.kvHeads(), s.headDim(), qkv, bias, pos, slot, 16,
        theta, (t, q, k, v, positions, slots) -> kernels.rmsnormQkvRope(x.ptr(), normW.ptr(),
            eps, w.ptr(), bias.ptr(), positions.ptr(), slots.ptr(), q.ptr(), k.ptr(), v.ptr(), t,
            s.hidden(), s.heads(), s.kvHeads(), s.headDim(), theta));
  }

  @ParameterizedTest
  @MethodSource("shapesAndTokens")
  void normGateUpSiluMatchesNormGemvSilu(Shape s, int tokens) {
    float eps = 1e-6f;
    DeviceBuffer x = floats(gaussian(tokens * s.hidden(), 5, 3f));
    DeviceBuffer normW = bf16(s.hidden(), 6, 1f, 0.1f);
    DeviceBuffer w = bf16(2L * s.inter() * s.hidden(), 7, 0f, 0.05f);
    DeviceBuffer h = alloc(2L * tokens * s.hidden());
    DeviceBuffer gateUp = alloc(4L * tokens * 2 * s.inter());
    DeviceBuffer act1 = alloc(2L * tokens * s.inter());
    kernels.addRmsnorm(x.ptr(), null, null, normW.ptr(), h.ptr(), s.hidden(), eps, tokens);
    kernels.gemv(h.ptr(), w.ptr(), gateUp.ptr(), tokens, 2 * s.inter(), s.hidden());
    kernels.siluMul(gateUp.ptr(), act1.ptr(), s.inter(), tokens);
    DeviceBuffer act2 = alloc(2L * tokens * s.inter());
    kernels.rmsnormGateUpSilu(x.ptr(), normW.ptr(), eps, w.ptr(), act2.ptr(), tokens,
        s.hidden(), s.inter());
    String what = s + ", " + tokens + " tokens";
    compareBf16("act, " + what, act1, act2, tokens * s.inter());
    DeviceBuffer act3 = alloc(2L * s.inter());
    kernels.rmsnormGateUpSilu(x.ptr(), normW.ptr(), eps, w.ptr(), act3.ptr(), 1, s.hidden(),
        s.inter());
    assertSameBits("act, token alone vs batched, " + what, act2, 0, act3, 0, s.inter());
  }

  /** The O projection (k = q size) and the down projection (k = inter) into the residual. */
  @ParameterizedTest
  @MethodSource("shapesAndTokens")
  void residualGemvMatchesGemvThenAdd(Shape s, int tokens) {
    for (int k : new int[] {s.qSize(), s.inter()}) {
      residualGemv(s.hidden(), k, tokens, s + ", k " + k + ", " + tokens + " tokens");
    }
  }

  @ParameterizedTest
  @MethodSource("shapesAndTokens")
  void residualGemvWithAnOddRowCount(Shape s, int tokens) {
    residualGemv(s.hidden() - 1, s.hidden(), tokens, s + ", odd rows, " + tokens + " tokens");
  }

  private void residualGemv(int rows, int k, int tokens, String what) {
    float[] x0 = gaussian(tokens * rows, 8, 2f);
    DeviceBuffer a = bf16((long) tokens * k, 9, 0f, 1f);
    DeviceBuffer w = bf16((long) rows * k, 10, 0f, 0.05f);
    // Unfused: the GEMV, then the residual add inside add_rmsnorm (its norm output unused).
    DeviceBuffer x1 = floats(x0);
    DeviceBuffer proj = alloc(4L * tokens * rows);
    DeviceBuffer normW = bf16(rows, 11, 1f, 0f);
    DeviceBuffer h = alloc(2L * tokens * rows);
    kernels.gemv(a.ptr(), w.ptr(), proj.ptr(), tokens, rows, k);
    kernels.addRmsnorm(x1.ptr(), proj.ptr(), null, normW.ptr(), h.ptr(), rows, 1e-6f, tokens);
    DeviceBuffer x2 = floats(x0);
    kernels.gemvResidual(a.ptr(), w.ptr(), x2.ptr(), tokens, rows, k);
    float[] ref = download(x1, tokens * rows);
    float[] got = download(x2, tokens * rows);
    int differing = 0;
    for (int i = 0; i < ref.length; i++) {
      differing += Float.floatToRawIntBits(ref[i]) != Float.floatToRawIntBits(got[i]) ? 1 : 0;
    }
    assertThat(differing).as("residual values not bit-identical to the unfused path, %s", what)
        .isZero();
    if ((long) rows * k > 1 << 24) {
      return; // the host check below is for the smaller shapes
    }
    // Against double-precision host math over the same bf16 inputs.
    float[] ah = bf16ToFloat(downloadShorts(a, tokens * k));
    float[] wh = bf16ToFloat(downloadShorts(w, rows * k));
    double worst = 0;
    for (int t = 0; t < tokens; t++) {
      for (int r = 0; r < rows; r++) {
        double sum = x0[t * rows + r];
        double mag = Math.abs(sum);
        for (int i = 0; i < k; i++) {
          double p = (double) wh[r * k + i] * ah[t * k + i];
          sum += p;
          mag += Math.abs(p);
        }
        worst = Math.max(worst, Math.abs(got[t * rows + r] - sum) / Math.max(mag, 1e-6));
      }
    }
    assertThat(worst).as("|fused - exact| / sum |terms|, %s", what).isLessThan(1e-4);
  }

  /** The final norm + LM head over selected rows (each sequence's last token). */
  @ParameterizedTest
  @MethodSource("shapesAndTokens")
  void normedGemvMatchesNormThenGemv(Shape s, int tokens) {
    int vocab = 4099; // odd: a last unit of one row
    int stepTokens = tokens + 2;
    float eps = 1e-5f;
    float[] x0 = gaussian(stepTokens * s.hidden(), 12, 3f);
    DeviceBuffer x = floats(x0);
    DeviceBuffer normW = bf16(s.hidden(), 13, 1f, 0.1f);
    DeviceBuffer w = bf16((long) vocab * s.hidden(), 14, 0f, 0.05f);
    int[] src = new int[tokens];
    for (int t = 0; t < tokens; t++) {
      src[t] = stepTokens - 1 - 2 * t % stepTokens; // out of order, not all rows
    }
    DeviceBuffer rows = ints(src);
    DeviceBuffer h = alloc(2L * tokens * s.hidden());
    DeviceBuffer y1 = alloc(4L * tokens * vocab);
    kernels.addRmsnorm(x.ptr(), null, rows.ptr(), normW.ptr(), h.ptr(), s.hidden(), eps, tokens);
    kernels.gemv(h.ptr(), w.ptr(), y1.ptr(), tokens, vocab, s.hidden());
    DeviceBuffer y2 = alloc(4L * tokens * vocab);
    kernels.rmsnormGemv(x.ptr(), rows.ptr(), normW.ptr(), eps, w.ptr(), y2.ptr(), tokens, vocab,
        s.hidden());
    float[] ref = download(y1, tokens * vocab);
    float[] got = download(y2, tokens * vocab);
    // Host check of the norm: the normed rows in double against the kernel's bf16 ones.
    float[] hh = bf16ToFloat(downloadShorts(h, tokens * s.hidden()));
    float[] nw = bf16ToFloat(downloadShorts(normW, s.hidden()));
    for (int t = 0; t < tokens; t++) {
      double ss = 0;
      for (int i = 0; i < s.hidden(); i++) {
        double v = x0[src[t] * s.hidden() + i];
        ss += v * v;
      }
      double inv = 1 / Math.sqrt(ss / s.hidden() + eps);
      for (int i = 0; i < s.hidden(); i++) {
        double exact = nw[i] * x0[src[t] * s.hidden() + i] * inv;
        assertThat(Math.abs(hh[t * s.hidden() + i] - exact))
            .as("normed row %d, element %d", t, i).isLessThanOrEqualTo(Math.abs(exact) / 128);
      }
    }
    double maxAbs = 0;
    double maxDiff = 0;
    for (int i = 0; i < ref.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(ref[i]));
      maxDiff = Math.max(maxDiff, Math.abs(ref[i] - got[i]));
    }
    String what = s + ", " + tokens + " tokens";
    assertThat(Double.isFinite(maxDiff)).as("finite logits, %s", what).isTrue();
    assertThat(maxDiff).as("logits, %s", what).isLessThanOrEqualTo(TOLERANCE * maxAbs);
    // The first selected row alone: the same bits as in the batch.
    DeviceBuffer y3 = alloc(4L * vocab);
    kernels.rmsnormGemv(x.ptr(), rows.ptr(), normW.ptr(), eps, w.ptr(), y3.ptr(), 1, vocab,
        s.hidden());
    float[] alone = download(y3, vocab);
    for (int i = 0; i < vocab; i++) {
      assertThat(Float.floatToRawIntBits(alone[i])).as("logit %d alone vs batched, %s", i, what)
          .isEqualTo(Float.floatToRawIntBits(got[i]));
    }
  }

  /**
   * Each shape at block size 16, and at 1: long contexts then span more block-table entries
   * per split than the split kernel stages in shared memory.
   */
  static Stream<Arguments> attentionShapes() {
    return Stream.of(16, 1).flatMap(b -> SHAPES.stream().map(s -> Arguments.of(s, b)));
  }

  /**
   * The split decode kernels: per query head and split, per KV head and split (GQA), on the
   * tensor cores per KV head and split, and on the tensor cores a block per (token, KV head),
   * with two tile stages (WHOLE), the deep twin's (DEEP) or the wide twin's eight warps (WIDE,
   * and split: WIDE_SPLIT; bf16 caches only).
   */
  enum SplitKernel {
    HEAD, GQA, MMA, MMA_WHOLE, MMA_DEEP, MMA_WIDE, MMA_WIDE_SPLIT;

    /** The tensor-core kernels': whether they split contexts. */
    boolean mmaSplit() {
      return this == MMA || this == MMA_WIDE_SPLIT;
    }

    /** The tensor-core kernels': their twin. */
    Kernels.DecodeMma twin() {
      return switch (this) {
        case MMA_DEEP -> Kernels.DecodeMma.DEEP;
        case MMA_WIDE, MMA_WIDE_SPLIT -> Kernels.DecodeMma.WIDE;
        default -> Kernels.DecodeMma.PLAIN;
      };
    }
  }

  /** {@link #attentionShapes} for each {@link SplitKernel} that takes the shape. */
  static Stream<Arguments> splitKernelShapes() {
    return Stream.of(SplitKernel.values()).flatMap(k -> attentionShapes()
        .filter(a -> {
          Shape s = (Shape) a.get()[0];
          return k.ordinal() < SplitKernel.MMA.ordinal()
              || Kernels.mmaFits(s.heads(), s.kvHeads(), s.headDim());
        })
        .map(a -> Arguments.of(a.get()[0], a.get()[1], k)));
  }

  /**
   * Split-K attention ({@link SplitKernel}) against the one-block-per-head kernel over
   * contexts of one split, split boundaries and many splits; repeated runs identical; a
   * token's output the same alone and beside another token; the merge counters back at zero.
   */
  @ParameterizedTest(name = "{0}, block size {1}, {2}")
  @MethodSource("splitKernelShapes")
  void splitAttentionMatchesAttention(Shape s, int blockSize, SplitKernel kernel) {
    int maxLen = 4096;
    int maxBlocks = maxLen / blockSize;
    int seqs = 2;
    float scale = (float) (1 / Math.sqrt(s.headDim()));
    PagedCache cache = randomCache(s, seqs, maxLen, blockSize, 20);
    DeviceBuffer kCache = cache.k();
    DeviceBuffer vCache = cache.v();
    DeviceBuffer blockTables = cache.tables();
    int maxTokens = Kernels.FUSED_MAX_TOKENS;
    DeviceBuffer q = bf16((long) maxTokens * s.qSize(), 23, 0f, 1f);
    DeviceBuffer partO = alloc(4 * Kernels.attentionSplitFloats(maxTokens, s.heads(),
        s.headDim()));
    DeviceBuffer partMl = alloc(4L * maxTokens * s.heads() * Kernels.ATTENTION_SPLITS * 2);
    DeviceBuffer counters = zeros(4L * maxTokens * s.heads());
    DeviceBuffer out1 = alloc(2L * maxTokens * s.qSize());
    DeviceBuffer out2 = alloc(2L * maxTokens * s.qSize());
    DeviceBuffer out3 = alloc(2L * maxTokens * s.qSize());
    int n = s.qSize();
    for (int pos : new int[] {0, 1, 31, 32, 127, 128, 129, 300, 1000, 2048, 2049, 4095}) {
      // Token 0 of sequence 0 at pos; token 1 of sequence 1 at another position; a padding.
      int[] positions = {pos, (pos * 7 + 5) % maxLen, -1};
      int[] tokenSeq = {0, 1, 0};
      DeviceBuffer posBuf = ints(positions);
      DeviceBuffer seqBuf = ints(tokenSeq);
      kernels.attention(q.ptr(), kCache.ptr(), vCache.ptr(), seqBuf.ptr(), posBuf.ptr(),
          blockTables.ptr(), maxBlocks, blockSize, out1.ptr(), s.heads(), s.kvHeads(),
          s.headDim(), scale, 3);
      SplitAttention launch = (out, tokens) -> {
        switch (kernel) {
          case GQA -> kernels.attentionGqaSplit(q.ptr(), kCache.ptr(), vCache.ptr(), null,
              null, seqBuf.ptr(), posBuf.ptr(), blockTables.ptr(), maxBlocks, blockSize,
              out.ptr(), s.heads(), s.kvHeads(), s.headDim(), scale, partO.ptr(),
              partMl.ptr(), counters.ptr(), tokens);
          case HEAD -> kernels.attentionSplit(q.ptr(), kCache.ptr(), vCache.ptr(),
              seqBuf.ptr(), posBuf.ptr(), blockTables.ptr(), maxBlocks, blockSize, out.ptr(),
              s.heads(), s.kvHeads(), s.headDim(), scale, partO.ptr(), partMl.ptr(),
              counters.ptr(), tokens);
          case MMA, MMA_WHOLE, MMA_DEEP, MMA_WIDE, MMA_WIDE_SPLIT -> kernels.attentionDecodeMma(
              q.ptr(), kCache.ptr(), vCache.ptr(), null, null, seqBuf.ptr(), posBuf.ptr(),
              blockTables.ptr(), maxBlocks, blockSize, out.ptr(), s.heads(), s.kvHeads(),
              s.headDim(), scale, partO.ptr(), partMl.ptr(), counters.ptr(), tokens,
              kernel.mmaSplit(), false, false, kernel.twin());
        }
      };
      launch.run(out2, 3);
      if (kernel.ordinal() >= SplitKernel.MMA.ordinal()) {
        // The first tile's old keys staged before the wait (one token a sequence, as here):
        // the same bits.
        kernels.attentionDecodeMma(q.ptr(), kCache.ptr(), vCache.ptr(), null, null,
            seqBuf.ptr(), posBuf.ptr(), blockTables.ptr(), maxBlocks, blockSize, out3.ptr(),
            s.heads(), s.kvHeads(), s.headDim(), scale, partO.ptr(), partMl.ptr(),
            counters.ptr(), 3, kernel.mmaSplit(), false, true, kernel.twin());
        short[] early = downloadShorts(out3, 3 * n);
        short[] late = downloadShorts(out2, 3 * n);
        for (int i = 0; i < 3 * n; i++) {
          assertThat(early[i]).as("old keys staged early, element %d, %s, block size %d,"
              + " position %d, %s", i, s, blockSize, pos, kernel).isEqualTo(late[i]);
        }
      }
      String what = s + ", block size " + blockSize + ", position " + pos + ", " + kernel;
      compareBf16("split attention, " + what, out1, out2, 3 * n);
      short[] split = downloadShorts(out2, 3 * n);
      for (int i = 2 * n; i < 3 * n; i++) {
        assertThat(split[i]).as("padding output, %s", what).isEqualTo((short) 0);
      }
      // Again, token 0 alone: the same bits.
      launch.run(out3, 1);
      short[] alone = downloadShorts(out3, n);
      for (int i = 0; i < n; i++) {
        assertThat(alone[i]).as("token alone vs batched, element %d, %s", i, what)
            .isEqualTo(split[i]);
      }
      int[] c = downloadInts(counters, maxTokens * s.heads());
      assertThat(c).as("merge counters after the launch, %s", what).containsOnly(0);
      release(posBuf);
      release(seqBuf);
    }
  }

  /** The shapes an FP8 cache takes: 16-byte rows (head_dim % 16 == 0). */
  static Stream<Shape> fp8Shapes() {
    return SHAPES.stream().filter(s -> s.headDim() % 16 == 0);
  }

  /** One launch of a split attention kernel over the test's inputs into out. */
  private interface SplitAttention {
    void run(DeviceBuffer out, int tokens);
  }

  /** {@link #fp8Shapes} for each kernel over FP8 but the per-head split. */
  static Stream<Arguments> fp8KernelShapes() {
    return Stream.of(SplitKernel.GQA, SplitKernel.MMA, SplitKernel.MMA_WHOLE,
            SplitKernel.MMA_WIDE, SplitKernel.MMA_WIDE_SPLIT)
        .flatMap(k -> fp8Shapes()
            .filter(s -> k == SplitKernel.GQA
                || Kernels.mmaFits(s.heads(), s.kvHeads(), s.headDim()))
            .map(s -> Arguments.of(s, k)));
  }

  /**
   * The split kernels over an FP8 cache (written by the FP8 cache writer) against the
   * one-block FP8 kernel: 3 tokens (one padding) at contexts of one split, split boundaries
   * and many splits, block size 16; the merge counters back at zero.
   */
  @ParameterizedTest(name = "{0}, {1}")
  @MethodSource("fp8KernelShapes")
  void splitAttentionOverFp8MatchesAttentionFp8(Shape s, SplitKernel kernel) {
    int blockSize = 16;
    int maxLen = 2048;
    int maxBlocks = maxLen / blockSize;
    int seqs = 2;
    float scale = (float) (1 / Math.sqrt(s.headDim()));
    Fp8Cache cache = fp8Cache(s, seqs * maxLen, 40);
    DeviceBuffer kCache = cache.k();
    DeviceBuffer vCache = cache.v();
    DeviceBuffer kScale = cache.kScale();
    DeviceBuffer vScale = cache.vScale();
    DeviceBuffer blockTables = scatteredBlockTables(seqs * maxBlocks, 42);
    int tokens = 3;
    DeviceBuffer q = bf16((long) tokens * s.qSize(), 43, 0f, 1f);
    DeviceBuffer partO = alloc(4 * Kernels.attentionSplitFloats(tokens, s.heads(),
        s.headDim()));
    DeviceBuffer partMl = alloc(4L * tokens * s.heads() * Kernels.ATTENTION_SPLITS * 2);
    DeviceBuffer counters = zeros(4L * tokens * s.heads());
    DeviceBuffer out1 = alloc(2L * tokens * s.qSize());
    DeviceBuffer out2 = alloc(2L * tokens * s.qSize());
    DeviceBuffer out3 = alloc(2L * tokens * s.qSize());
    for (int pos : new int[] {0, 31, 128, 129, 1000, 2047}) {
      DeviceBuffer posBuf = ints(new int[] {pos, (pos * 7 + 5) % maxLen, -1});
      DeviceBuffer seqBuf = ints(new int[] {0, 1, 0});
      kernels.attentionFp8(q.ptr(), kCache.ptr(), vCache.ptr(), kScale.ptr(), vScale.ptr(),
          seqBuf.ptr(), posBuf.ptr(), blockTables.ptr(), maxBlocks, blockSize, out1.ptr(),
          s.heads(), s.kvHeads(), s.headDim(), scale, tokens);
      if (kernel == SplitKernel.GQA) {
        kernels.attentionGqaSplit(q.ptr(), kCache.ptr(), vCache.ptr(), kScale.ptr(),
            vScale.ptr(), seqBuf.ptr(), posBuf.ptr(), blockTables.ptr(), maxBlocks, blockSize,
            out2.ptr(), s.heads(), s.kvHeads(), s.headDim(), scale, partO.ptr(), partMl.ptr(),
            counters.ptr(), tokens);
      } else {
        kernels.attentionDecodeMma(q.ptr(), kCache.ptr(), vCache.ptr(), kScale.ptr(),
            vScale.ptr(), seqBuf.ptr(), posBuf.ptr(), blockTables.ptr(), maxBlocks, blockSize,
            out2.ptr(), s.heads(), s.kvHeads(), s.headDim(), scale, partO.ptr(), partMl.ptr(),
            counters.ptr(), tokens, kernel.mmaSplit(), false, false, kernel.twin());
      }
      String what = s + ", position " + pos + ", " + kernel;
      compareBf16("fp8 split attention, " + what, out1, out2, tokens * s.qSize());
      if (kernel != SplitKernel.GQA) {
        // the first tile's old keys and scales staged before the wait: the same bits
        kernels.attentionDecodeMma(q.ptr(), kCache.ptr(), vCache.ptr(), kScale.ptr(),
            vScale.ptr(), seqBuf.ptr(), posBuf.ptr(), blockTables.ptr(), maxBlocks, blockSize,
            out3.ptr(), s.heads(), s.kvHeads(), s.headDim(), scale, partO.ptr(), partMl.ptr(),
            counters.ptr(), tokens, kernel.mmaSplit(), false, true, kernel.twin());
        assertThat(downloadShorts(out3, tokens * s.qSize()))
            .as("old keys staged early, %s", what)
            .isEqualTo(downloadShorts(out2, tokens * s.qSize()));
      }
      assertThat(downloadInts(counters, tokens * s.heads()))
          .as("merge counters after the launch, %s", what).containsOnly(0);
      release(posBuf);
      release(seqBuf);
    }
  }

  /**
   * The many-token GQA kernel (a block per token and KV head) against the one-block kernel
   * (a block per token and query head group, one load at a time): 40 tokens of 8 sequences at
   * scattered positions, a padding token, block sizes 16 and 1.
   */
  @ParameterizedTest
  @MethodSource("attentionShapes")
  void gqaAttentionMatchesOneBlockAttention(Shape s, int blockSize) {
    int maxLen = 2048;
    int maxBlocks = maxLen / blockSize;
    int seqs = 8;
    int tokens = 41;
    float scale = (float) (1 / Math.sqrt(s.headDim()));
    PagedCache cache = randomCache(s, seqs, maxLen, blockSize, 30);
    DeviceBuffer kCache = cache.k();
    DeviceBuffer vCache = cache.v();
    DeviceBuffer blockTables = cache.tables();
    DeviceBuffer q = bf16((long) tokens * s.qSize(), 33, 0f, 1f);
    Random r = new Random(34);
    int[] positions = new int[tokens];
    int[] tokenSeq = new int[tokens];
    for (int t = 0; t < tokens; t++) {
      tokenSeq[t] = t % seqs;
      positions[t] = t == tokens - 1 ? -1 : t < 4 ? t * 31 : r.nextInt(maxLen);
    }
    DeviceBuffer posBuf = ints(positions);
    DeviceBuffer seqBuf = ints(tokenSeq);
    DeviceBuffer gqaOut = alloc(2L * tokens * s.qSize());
    DeviceBuffer oneOut = alloc(2L * tokens * s.qSize());
    kernels.attention(q.ptr(), kCache.ptr(), vCache.ptr(), seqBuf.ptr(), posBuf.ptr(),
        blockTables.ptr(), maxBlocks, blockSize, gqaOut.ptr(), s.heads(), s.kvHeads(),
        s.headDim(), scale, tokens);
    String old = System.getProperty("redress.cuda.gqaAttention");
    System.setProperty("redress.cuda.gqaAttention", "false");
    try (Kernels oneBlock = new Kernels(device.stream())) {
      oneBlock.attention(q.ptr(), kCache.ptr(), vCache.ptr(), seqBuf.ptr(), posBuf.ptr(),
          blockTables.ptr(), maxBlocks, blockSize, oneOut.ptr(), s.heads(), s.kvHeads(),
          s.headDim(), scale, tokens);
      device.synchronize();
    } finally {
      if (old == null) {
        System.clearProperty("redress.cuda.gqaAttention");
      } else {
        System.setProperty("redress.cuda.gqaAttention", old);
      }
    }
    int n = s.qSize();
    compareBf16("gqa attention, " + s + ", block size " + blockSize, oneOut, gqaOut,
        (tokens - 1) * n);
    short[] gqa = downloadShorts(gqaOut, tokens * n);
    for (int i = (tokens - 1) * n; i < tokens * n; i++) {
      assertThat(gqa[i]).as("padding output, %s", s).isEqualTo((short) 0);
    }
  }

  /** The shapes the tensor-core attention takes (head_dim 64 or 128). */
  static Stream<Shape> mmaShapes() {
    return SHAPES.stream().filter(s -> Kernels.mmaFits(s.heads(), s.kvHeads(), s.headDim()));
  }

  /**
   * The tensor-core attention for prompt chunks against the CUDA-core kernel, over a step that
   * mixes chunks (one behind a cached prefix), decode tokens and a padding token, so that tiles
   * of 16 rows straddle sequences; a chunk's outputs the same bits alone as in the mix.
   */
  @ParameterizedTest
  @MethodSource("mmaShapes")
  void mmaAttentionMatchesAttention(Shape s) {
    int maxLen = 1024;
    int blockSize = 16;
    int maxBlocks = maxLen / blockSize;
    int seqs = 6;
    float scale = (float) (1 / Math.sqrt(s.headDim()));
    PagedCache cache = randomCache(s, seqs, maxLen, blockSize, 30);
    DeviceBuffer kCache = cache.k();
    DeviceBuffer vCache = cache.v();
    DeviceBuffer blockTables = cache.tables();
    int[][] step = mixedStep(maxLen);
    int tokens = step[0].length;
    DeviceBuffer q = bf16((long) tokens * s.qSize(), 33, 0f, 1f);
    DeviceBuffer seqBuf = ints(step[0]);
    DeviceBuffer posBuf = ints(step[1]);
    DeviceBuffer ref = alloc(2L * tokens * s.qSize());
    DeviceBuffer got = alloc(2L * tokens * s.qSize());
    kernels.attention(q.ptr(), kCache.ptr(), vCache.ptr(), seqBuf.ptr(), posBuf.ptr(),
        blockTables.ptr(), maxBlocks, blockSize, ref.ptr(), s.heads(), s.kvHeads(), s.headDim(),
        scale, tokens);
    kernels.attentionMma(q.ptr(), kCache.ptr(), vCache.ptr(), seqBuf.ptr(), posBuf.ptr(),
        blockTables.ptr(), maxBlocks, blockSize, got.ptr(), s.heads(), s.kvHeads(), s.headDim(),
        scale, tokens);
    int n = s.qSize();
    compareBf16("mma attention, " + s, ref, got, tokens * n);
    short[] mixed = downloadShorts(got, tokens * n);
    int padding = 37 + 50 + 3;
    for (int i = padding * n; i < (padding + 1) * n; i++) {
      assertThat(mixed[i]).as("padding output, %s", s).isEqualTo((short) 0);
    }
    // Sequence 1's prompt alone (tokens 37..86 of the mix, now rows 0..49): the same bits.
    DeviceBuffer alone = alloc(2L * 50 * n);
    kernels.attentionMma(q.at(2L * 37 * n), kCache.ptr(), vCache.ptr(), seqBuf.at(4L * 37),
        posBuf.at(4L * 37), blockTables.ptr(), maxBlocks, blockSize, alone.ptr(), s.heads(),
        s.kvHeads(), s.headDim(), scale, 50);
    short[] a = downloadShorts(alone, 50 * n);
    for (int i = 0; i < 50 * n; i++) {
      assertThat(a[i]).as("chunk alone vs mixed, element %d, %s", i, s)
          .isEqualTo(mixed[37 * n + i]);
    }
  }

  /**
   * The tensor-core attention for prompt chunks over an FP8 cache (written by the FP8 cache
   * writer) against the one-block FP8 kernel, over the same mix of chunks, decodes and padding
   * as {@link #mmaAttentionMatchesAttention}; a chunk's outputs the same bits alone.
   */
  @ParameterizedTest
  @MethodSource("mmaShapes")
  void mmaAttentionOverFp8MatchesAttentionFp8(Shape s) {
    int maxLen = 1024;
    int blockSize = 16;
    int maxBlocks = maxLen / blockSize;
    int seqs = 6;
    float scale = (float) (1 / Math.sqrt(s.headDim()));
    Fp8Cache cache = fp8Cache(s, seqs * maxLen, 50);
    DeviceBuffer kCache = cache.k();
    DeviceBuffer vCache = cache.v();
    DeviceBuffer kScale = cache.kScale();
    DeviceBuffer vScale = cache.vScale();
    DeviceBuffer blockTables = scatteredBlockTables(seqs * maxBlocks, 52);
    int[][] step = mixedStep(maxLen);
    int tokens = step[0].length;
    DeviceBuffer q = bf16((long) tokens * s.qSize(), 53, 0f, 1f);
    DeviceBuffer seqBuf = ints(step[0]);
    DeviceBuffer posBuf = ints(step[1]);
    DeviceBuffer ref = alloc(2L * tokens * s.qSize());
    DeviceBuffer got = alloc(2L * tokens * s.qSize());
    kernels.attentionFp8(q.ptr(), kCache.ptr(), vCache.ptr(), kScale.ptr(), vScale.ptr(),
        seqBuf.ptr(), posBuf.ptr(), blockTables.ptr(), maxBlocks, blockSize, ref.ptr(),
        s.heads(), s.kvHeads(), s.headDim(), scale, tokens);
    kernels.attentionMma(q.ptr(), kCache.ptr(), vCache.ptr(), kScale.ptr(), vScale.ptr(),
        seqBuf.ptr(), posBuf.ptr(), blockTables.ptr(), maxBlocks, blockSize, got.ptr(),
        s.heads(), s.kvHeads(), s.headDim(), scale, tokens);
    int n = s.qSize();
    compareBf16("fp8 mma attention, " + s, ref, got, tokens * n);
    short[] mixed = downloadShorts(got, tokens * n);
    int padding = 37 + 50 + 3;
    for (int i = padding * n; i < (padding + 1) * n; i++) {
      assertThat(mixed[i]).as("padding output, %s", s).isEqualTo((short) 0);
    }
    DeviceBuffer alone = alloc(2L * 50 * n);
    kernels.attentionMma(q.at(2L * 37 * n), kCache.ptr(), vCache.ptr(), kScale.ptr(),
        vScale.ptr(), seqBuf.at(4L * 37), posBuf.at(4L * 37), blockTables.ptr(), maxBlocks,
        blockSize, alone.ptr(), s.heads(), s.kvHeads(), s.headDim(), scale, 50);
    short[] a = downloadShorts(alone, 50 * n);
    for (int i = 0; i < 50 * n; i++) {
      assertThat(a[i]).as("chunk alone vs mixed, element %d, %s", i, s)
          .isEqualTo(mixed[37 * n + i]);
    }
  }

  // ---- helpers ----

  /** An FP8 K/V cache and its fp16 scales (qkvRopeCacheFp8's layout). */
  private record Fp8Cache(DeviceBuffer k, DeviceBuffer v, DeviceBuffer kScale,
      DeviceBuffer vScale) {}

  /**
   * {@code numSlots} slots of an FP8 cache, every one written by the cache writer from random
   * projections (seeds {@code seed}, {@code seed + 1}), 256 slots a launch.
   */
  private Fp8Cache fp8Cache(Shape s, int numSlots, long seed) {
    int width = s.qSize() + 2 * s.kvSize();
    Fp8Cache c = new Fp8Cache(zeros((long) numSlots * s.kvSize()),
        zeros((long) numSlots * s.kvSize()), zeros(2L * numSlots * s.kvHeads()),
        zeros(2L * numSlots * s.kvHeads()));
    int chunk = 256;
    DeviceBuffer qkv = floats(gaussian(chunk * width, seed, 1f));
    DeviceBuffer bias = bf16(width, seed + 1, 0f, 0.1f);
    DeviceBuffer scratchQ = alloc(2L * chunk * s.qSize());
    for (int first = 0; first < numSlots; first += chunk) {
      int[] slots = new int[chunk];
      for (int i = 0; i < chunk; i++) {
        slots[i] = first + i;
      }
      DeviceBuffer slotBuf = ints(slots);
      kernels.qkvRopeCacheFp8(qkv.ptr(), bias.ptr(), slotBuf.ptr(), slotBuf.ptr(),
          scratchQ.ptr(), c.k().ptr(), c.v().ptr(), c.kScale().ptr(), c.vScale().ptr(),
          s.heads(), s.kvHeads(), s.headDim(), 1e6f, chunk);
      release(slotBuf);
    }
    return c;
  }

  /**
   * The prompt-kernel tests' step over 6 sequences of {@code maxLen} slots, as {sequence of each
   * token, position of each token}: a chunk after 100 cached tokens (tokens 0..36), a whole
   * prompt of 50 (37..86), three decodes, a padding token (position -1, token 90), a chunk
   * reaching the last position.
   */
  private static int[][] mixedStep(int maxLen) {
    int[][] runs = {{0, 100, 37}, {1, 0, 50}, {2, 5, 1}, {3, 700, 1}, {4, 63, 1}, {0, -1, 1},
        {5, maxLen - 20, 20}};
    int tokens = java.util.Arrays.stream(runs).mapToInt(r -> r[2]).sum();
    int[][] step = new int[2][tokens];
    int t = 0;
    for (int[] r : runs) {
      for (int i = 0; i < r[2]; i++, t++) {
        step[0][t] = r[0];
        step[1][t] = r[1] < 0 ? -1 : r[1] + i;
      }
    }
    return step;
  }

  /** A paged bf16 K/V cache of random rows and the block tables that scatter it. */
  private record PagedCache(DeviceBuffer k, DeviceBuffer v, DeviceBuffer tables) {}

  /**
   * {@code seqs} sequences of {@code maxLen} slots: K and V rows drawn with seeds {@code seed}
   * and {@code seed + 1}, the tables ({@link #scatteredBlockTables}) with {@code seed + 2}.
   */
  private PagedCache randomCache(Shape s, int seqs, int maxLen, int blockSize, long seed) {
    long elems = (long) seqs * maxLen * s.kvSize();
    return new PagedCache(bf16(elems, seed, 0f, 1f), bf16(elems, seed + 1, 0f, 1f),
        scatteredBlockTables(seqs * maxLen / blockSize, seed + 2));
  }

  /** Block tables (sequence-major) whose blocks are scattered over the whole cache. */
  private DeviceBuffer scatteredBlockTables(int blocks, long seed) {
    List<Integer> order = new ArrayList<>(IntStream.range(0, blocks).boxed().toList());
    Collections.shuffle(order, new Random(seed));
    return ints(order.stream().mapToInt(Integer::intValue).toArray());
  }

  private static int[] slice(int[] a, int n) {
    return java.util.Arrays.copyOf(a, n);
  }
}
