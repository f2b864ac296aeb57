package io.redress.inference.runtime.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.model.GptqConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import jcuda.driver.CUdeviceptr;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The fused GPTQ int4 decode kernels (w4a16_fused.cu) against the unfused kernels they replace
 * (norm, act-order gather, {@link Kernels#w4a16}, RoPE + cache write or SiLU), on random
 * packed layers at the fixture and Qwen2.5-0.5B shapes, groups of 32 (the general kernels) and
 * of 64, 128 or one (the _g64 ones), with and without act-order, 1 to
 * {@link Kernels#FUSED_MAX_TOKENS} tokens, and the many-token kernels (activations normed
 * beforehand) up to {@link Kernels#W4M_MAX_TOKENS}. The normed kernels agree within bf16
 * rounding (the norm and the k split sum in other orders); the residual kernel is checked against
 * double-precision host math over the dequantized weights. Each token's result is the same
 * bits alone as in the batch (for the two-tile kernels, in their fewest tokens: their launches
 * may share a group's pairs out among blocks, in runs cut by the shape and the GPU alone).
 */
@Tag("gpu")
class W4FusedKernelsGpuTest extends KernelGpuTest {

  /** A model's shapes, GPTQ group (-1: one) and act-order (each part its own order). */
  record Shape(String name, int hidden, int heads, int kvHeads, int headDim, int inter,
      int group, boolean actOrder) {
    int qSize() {
      return heads * headDim;
    }

    int kvSize() {
      return kvHeads * headDim;
    }

    @Override
    public String toString() {
      return name + " (group " + group + (actOrder ? ", act-order" : "") + ")";
    }
  }

  static final List<Shape> SHAPES = List.of(
      new Shape("fixture", 256, 4, 2, 64, 512, 32, true),
      new Shape("mid", 512, 8, 2, 64, 1024, 64, true),
      new Shape("one group", 256, 4, 2, 64, 512, -1, false),
      new Shape("qwen2.5-0.5b", 896, 14, 2, 64, 4864, 128, false));

  static Stream<Shape> shapes() {
    return SHAPES.stream();
  }

  /**
   * Every narrow many-token residual launch here shares its pairs out in runs where its shape
   * allows (the runner splits only those of long groups), so that the parts' hand-over, the residual norm
   * over the groups a block completed and the generations from launch to launch are checked
   * at every kernel.
   */
  @org.junit.jupiter.api.BeforeEach
  void splitEveryLaunch() {
    kernels.w4SplitMinGroupPairs(0);
  }

  static Stream<Arguments> shapesAndTokens() {
    return SHAPES.stream().flatMap(s -> IntStream.rangeClosed(1, Kernels.FUSED_MAX_TOKENS)
        .mapToObj(t -> Arguments.of(s, t)));
  }

  /** Token counts of the many-token kernels: one and two n-tiles, partial and full. */
  static Stream<Arguments> shapesAndManyTokens() {
    return SHAPES.stream().flatMap(s -> IntStream.of(2, 5, 8, 9, Kernels.W4M_MAX_TOKENS)
        .mapToObj(t -> Arguments.of(s, t)));
  }

  /**
   * Tokens of the launch a batch's token 0 is compared against: one, or where the batch takes
   * the two-tile kernels, their fewest (their unit groups may be shared out among blocks in
   * runs, W4MSplit, so their sums are not the one-tile kernels' bits, only their own at any
   * token count).
   */
  static int aloneTokens(int tokens, CudaWeights.Q4 w) {
    int one = Kernels.oneTileTokens(w);
    return tokens > one ? one + 1 : 1;
  }

  static Stream<Arguments> shapesAndResidualTokens() {
    return Stream.concat(shapesAndTokens(), SHAPES.stream().flatMap(s -> IntStream.of(8, 9,
        Kernels.W4M_MAX_TOKENS).mapToObj(t -> Arguments.of(s, t))));
  }

  @ParameterizedTest
  @MethodSource("shapesAndTokens")
  void normQkvRopeMatchesNormW4a16Rope(Shape s, int tokens) {
    Layer w = layer(s, s.hidden(), new int[] {s.qSize(), s.kvSize(), s.kvSize()}, 1);
    float eps = 1e-6f;
    float theta = 1e6f;
    DeviceBuffer x = floats(gaussian(tokens * s.hidden(), 1, 3f));
    DeviceBuffer normW = bf16(s.hidden(), 2, 1f, 0.1f);
    DeviceBuffer bias = bf16(w.packed.rows(), 4, 0f, 0.1f);
    int[] pos = java.util.Arrays.copyOf(new int[] {17, 3000, -1, 0}, tokens);
    int[] slot = java.util.Arrays.copyOf(new int[] {3, 9, -1, 12}, tokens);
    checkQkvRope(s.toString(), s.heads(), s.kvHeads(), s.headDim(),
        unfusedW4(w, normed(x, normW, eps, s.hidden(), tokens), tokens), bias, pos, slot, 16,
        theta, (t, q, k, v, positions, slots) -> kernels.w4RmsnormQkvRope(x.ptr(),
            normW.ptr(), eps, w.q4, bias.ptr(), positions.ptr(), slots.ptr(), q.ptr(), k.ptr(),
            v.ptr(), t, s.hidden(), s.heads(), s.kvHeads(), s.headDim(), theta));
  }

  @ParameterizedTest
  @MethodSource("shapesAndTokens")
  void normGateUpSiluMatchesNormW4a16Silu(Shape s, int tokens) {
    Layer w = layer(s, s.hidden(), new int[] {s.inter(), s.inter()}, 2);
    float eps = 1e-6f;
    DeviceBuffer x = floats(gaussian(tokens * s.hidden(), 5, 3f));
    DeviceBuffer normW = bf16(s.hidden(), 6, 1f, 0.1f);
    DeviceBuffer gateUp = unfusedW4(w, normed(x, normW, eps, s.hidden(), tokens), tokens);
    DeviceBuffer act1 = alloc(2L * tokens * s.inter());
    kernels.siluMul(gateUp.ptr(), act1.ptr(), s.inter(), tokens);
    DeviceBuffer act2 = alloc(2L * tokens * s.inter());
    kernels.w4RmsnormGateUpSilu(x.ptr(), normW.ptr(), eps, w.q4, act2.ptr(), tokens,
        s.hidden(), s.inter());
    String what = s + ", " + tokens + " tokens";
    compareBf16("act, " + what, act1, act2, tokens * s.inter());
    DeviceBuffer act3 = alloc(2L * s.inter());
    kernels.w4RmsnormGateUpSilu(x.ptr(), normW.ptr(), eps, w.q4, act3.ptr(), 1, s.hidden(),
        s.inter());
    assertSameBits("act, token alone vs batched, " + what, act2, 0, act3, 0, s.inter());
  }

  /**
   * The many-token QKV kernel over activations normed beforehand (as the runner calls it for
   * steps of several tokens) against w4a16 then the RoPE + cache kernel.
   */
  @ParameterizedTest
  @MethodSource("shapesAndManyTokens")
  void manyQkvRopeMatchesW4a16Rope(Shape s, int tokens) {
    Layer w = layer(s, s.hidden(), new int[] {s.qSize(), s.kvSize(), s.kvSize()}, 11);
    float theta = 1e6f;
    int slotsTotal = 2 * Kernels.W4M_MAX_TOKENS;
    int[] pos = new int[tokens];
    int[] slot = new int[tokens];
    for (int t = 0; t < tokens; t++) {
      pos[t] = t == 2 ? -1 : (977 * t + 17) % 4000;
      slot[t] = t == 2 ? -1 : (5 * t + 3) % slotsTotal;
    }
    DeviceBuffer h = normed(floats(gaussian(tokens * s.hidden(), 12, 3f)),
        bf16(s.hidden(), 13, 1f, 0.1f), 1e-6f, s.hidden(), tokens);
    DeviceBuffer bias = bf16(w.packed.rows(), 14, 0f, 0.1f);
    checkQkvRope(s.toString(), s.heads(), s.kvHeads(), s.headDim(), unfusedW4(w, h, tokens),
        bias, pos, slot, slotsTotal, theta, aloneTokens(tokens, w.q4),
        (t, q, k, v, positions, slots) ->
            kernels.w4QkvRope(gathered(w, h, t).ptr(), partStride(w, t), w.q4, bias.ptr(),
                positions.ptr(), slots.ptr(), q.ptr(), k.ptr(), v.ptr(), t, s.hidden(),
                s.heads(), s.kvHeads(), s.headDim(), theta));
  }

  @ParameterizedTest
  @MethodSource("shapesAndManyTokens")
  void manyGateUpSiluMatchesW4a16Silu(Shape s, int tokens) {
    Layer w = layer(s, s.hidden(), new int[] {s.inter(), s.inter()}, 15);
    DeviceBuffer h = normed(floats(gaussian(tokens * s.hidden(), 16, 3f)),
        bf16(s.hidden(), 17, 1f, 0.1f), 1e-6f, s.hidden(), tokens);
    DeviceBuffer gateUp = unfusedW4(w, h, tokens);
    DeviceBuffer act1 = alloc(2L * tokens * s.inter());
    kernels.siluMul(gateUp.ptr(), act1.ptr(), s.inter(), tokens);
    DeviceBuffer act2 = alloc(2L * tokens * s.inter());
    kernels.w4GateUpSilu(gathered(w, h, tokens).ptr(), partStride(w, tokens), w.q4, act2.ptr(),
        tokens, s.hidden(), s.inter());
    String what = s + ", " + tokens + " tokens";
    compareBf16("act, " + what, act1, act2, tokens * s.inter());
    int alone = aloneTokens(tokens, w.q4);
    DeviceBuffer act3 = alloc(2L * alone * s.inter());
    kernels.w4GateUpSilu(gathered(w, h, alone).ptr(), partStride(w, alone), w.q4, act3.ptr(),
        alone, s.hidden(), s.inter());
    assertSameBits("act, token alone vs batched, " + what, act2, 0, act3, 0, s.inter());
  }

  /**
   * The many-token kernels' _szs twins, reading the strip-major scales the runner makes
   * ({@link Kernels#w4ChainScales}): the same arithmetic, so the same bits as over the
   * row-major scales (QKV with RoPE and the cache writes, gate/up with SiLU, the residual).
   */
  @ParameterizedTest
  @MethodSource("shapesAndManyTokens")
  void stripScaleTwinsGiveTheSameBits(Shape s, int tokens) {
    stripTwins(s, tokens, false);
  }

  /**
   * The _z8 twins over a symmetric layer's strip-major scales without zero points (every one
   * is 8, {@link Kernels#w4ZerosAllEight}): the same bits again.
   */
  @ParameterizedTest
  @MethodSource("shapesAndManyTokens")
  void scaleOnlyTwinsGiveTheSameBitsWhereEveryZeroPointIsEight(Shape s, int tokens) {
    stripTwins(s, tokens, true);
  }

  /** Only a layer whose zero points are all 8 counts as symmetric. */
  @ParameterizedTest
  @MethodSource("shapes")
  void zeroPointsAllEightAreTold(Shape s) {
    DeviceBuffer flag = alloc(4);
    CudaWeights.Q4 sym = layer(s, s.hidden(), new int[] {s.inter()}, 31, true).q4;
    CudaWeights.Q4 random = layer(s, s.hidden(), new int[] {s.inter()}, 31, false).q4;
    assertThat(kernels.w4ZerosAllEight(List.of(sym), flag)).as("symmetric, %s", s).isTrue();
    assertThat(kernels.w4ZerosAllEight(List.of(random), flag)).as("random zero points, %s", s)
        .isFalse();
    assertThat(kernels.w4ZerosAllEight(List.of(sym, random), flag))
        .as("one layer of random zero points among symmetric ones, %s", s).isFalse();
  }

  private void stripTwins(Shape s, int tokens, boolean z8) {
    org.junit.jupiter.api.Assumptions.assumeTrue(!s.actOrder() && tokens > 8
        && (s.group() < 0 ? s.hidden() : s.group()) % 64 == 0, "many-token, power-of-two group");
    String what = s + ", " + tokens + " tokens" + (z8 ? ", zero points all 8" : "");
    DeviceBuffer h = normed(floats(gaussian(tokens * s.hidden(), 21, 3f)),
        bf16(s.hidden(), 22, 1f, 0.1f), 1e-6f, s.hidden(), tokens);

    Layer gu = layer(s, s.hidden(), new int[] {s.inter(), s.inter()}, 23, z8);
    DeviceBuffer[] act = new DeviceBuffer[2];
    for (int v = 0; v < 2; v++) {
      act[v] = alloc(2L * tokens * s.inter());
      kernels.w4GateUpSilu(h.ptr(), 0, v == 0 ? gu.q4 : withStrips(gu.q4, z8), act[v].ptr(), tokens,
          s.hidden(), s.inter());
    }
    assertSameBits("act, strip-major vs row-major scales, " + what, act[0], 0, act[1], 0,
        tokens * s.inter());

    Layer down = layer(s, s.inter(), new int[] {s.hidden()}, 24, z8);
    float[] x0 = gaussian(tokens * s.hidden(), 25, 2f);
    float[][] resid = new float[2][];
    for (int v = 0; v < 2; v++) {
      DeviceBuffer x = floats(x0);
      kernels.w4Residual(act[0].ptr(), v == 0 ? down.q4 : withStrips(down.q4, z8), x.ptr(),
          tokens);
      resid[v] = download(x, tokens * s.hidden());
    }
    assertThat(resid[1]).as("residual, strip-major vs row-major scales, %s", what)
        .containsExactly(resid[0]);

    Layer qkv = layer(s, s.hidden(), new int[] {s.qSize(), s.kvSize(), s.kvSize()}, 26, z8);
    DeviceBuffer bias = bf16(qkv.packed.rows(), 27, 0f, 0.1f);
    int[] pos = new int[tokens];
    int[] slot = new int[tokens];
    for (int t = 0; t < tokens; t++) {
      pos[t] = 31 * t + 5;
      slot[t] = t;
    }
    DeviceBuffer positions = ints(pos);
    DeviceBuffer slots = ints(slot);
    DeviceBuffer[][] out = new DeviceBuffer[2][];
    for (int v = 0; v < 2; v++) {
      out[v] = new DeviceBuffer[] {zeros(2L * tokens * s.qSize()),
          zeros(2L * tokens * s.kvSize()), zeros(2L * tokens * s.kvSize())};
      kernels.w4QkvRope(h.ptr(), 0, v == 0 ? qkv.q4 : withStrips(qkv.q4, z8), bias.ptr(),
          positions.ptr(), slots.ptr(), out[v][0].ptr(), out[v][1].ptr(), out[v][2].ptr(),
          tokens, s.hidden(), s.heads(), s.kvHeads(), s.headDim(), 1e6f);
    }
    int[] sizes = {tokens * s.qSize(), tokens * s.kvSize(), tokens * s.kvSize()};
    String[] names = {"q", "k cache", "v cache"};
    for (int i = 0; i < 3; i++) {
      assertSameBits(names[i] + ", strip-major vs row-major scales, " + what, out[0][i], 0,
          out[1][i], 0, sizes[i]);
    }
  }

  /** w with the strip-major copy of its scales (as the runner attaches them). */
  private CudaWeights.Q4 withStrips(CudaWeights.Q4 w, boolean z8) {
    DeviceBuffer szs = alloc(Kernels.w4ChainScaleBytes(w, z8));
    kernels.w4ChainScales(w, szs.ptr(), z8);
    return w.withStripScales(szs, z8);
  }

  /** The O projection (k = q size) and the down projection (k = inter) into the residual. */
  @ParameterizedTest
  @MethodSource("shapesAndResidualTokens")
  void residualMatchesHostMath(Shape s, int tokens) {
    int seed = 3;
    for (int k : new int[] {s.qSize(), s.inter()}) {
      Layer w = layer(s, k, new int[] {s.hidden()}, seed++);
      String what = s + ", k " + k + ", " + tokens + " tokens";
      int rows = s.hidden();
      float[] x0 = gaussian(tokens * rows, 8, 2f);
      float[] a = gaussian(tokens * k, 9, 1f);
      short[] aBits = new short[a.length];
      for (int i = 0; i < a.length; i++) {
        aBits[i] = io.redress.inference.model.SafeTensorsWriter.floatToBf16(a[i]);
        a[i] = Float.intBitsToFloat((aBits[i] & 0xffff) << 16);
      }
      DeviceBuffer resid = floats(x0);
      kernels.w4Residual(permuted(w, shorts(aBits), tokens).ptr(), w.q4, resid.ptr(), tokens);
      float[] got = download(resid, tokens * rows);
      for (int t = 0; t < tokens; t++) {
        for (int r = 0; r < rows; r++) {
          double sum = x0[t * rows + r];
          double mag = Math.abs(sum);
          for (int i = 0; i < k; i++) {
            double p = (double) w.packed.weight(r, i) * a[t * k + i];
            sum += p;
            mag += Math.abs(p);
          }
          double diff = Math.abs(got[t * rows + r] - sum);
          if (diff > CudaW4a16GpuTest.TOLERANCE * mag) {
            assertThat(diff).as("%s, token %d row %d", what, t, r)
                .isLessThanOrEqualTo(CudaW4a16GpuTest.TOLERANCE * mag);
          }
        }
      }
      int m = aloneTokens(tokens, w.q4);
      DeviceBuffer alone = floats(java.util.Arrays.copyOf(x0, m * rows));
      kernels.w4Residual(permuted(w, shorts(java.util.Arrays.copyOf(aBits, m * k)), m).ptr(),
          w.q4, alone.ptr(), m);
      assertThat(download(alone, rows)).as("token 0 of %d vs batched, %s", m, what)
          .containsExactly(java.util.Arrays.copyOf(got, rows));
    }
  }

  /**
   * The residual kernel running the next norm (Kernels.ResidNorm, every block's group sums
   * joined after a grid barrier): the residual the same bits as without it, h within bf16
   * rounding of the norm kernel's and of double-precision host math, a token alone the same
   * bits as batched; the scratch and barrier word serve launch after launch.
   */
  @ParameterizedTest
  @MethodSource("shapesAndResidualTokens")
  void residualNormMatchesNormKernel(Shape s, int tokens) {
    int k = s.inter();
    int rows = s.hidden();
    Layer w = layer(s, k, new int[] {rows}, 17);
    String what = s + ", " + tokens + " tokens";
    float eps = 1e-6f;
    float[] x0 = gaussian(tokens * rows, 18, 2f);
    short[] aBits = new short[tokens * k];
    float[] a = gaussian(aBits.length, 19, 1f);
    for (int i = 0; i < a.length; i++) {
      aBits[i] = io.redress.inference.model.SafeTensorsWriter.floatToBf16(a[i]);
    }
    DeviceBuffer normW = bf16(rows, 20, 1f, 0.1f);
    DeviceBuffer scratch = zeros(4L * Kernels.W4M_MAX_TOKENS * (rows / 32) + 4);
    CUdeviceptr barrier = scratch.at(4L * Kernels.W4M_MAX_TOKENS * (rows / 32));
    DeviceBuffer aDev = permuted(w, shorts(aBits), tokens);

    DeviceBuffer plain = floats(x0);
    kernels.w4Residual(aDev.ptr(), w.q4, plain.ptr(), tokens);
    DeviceBuffer ref = normed(plain, normW, eps, rows, tokens);

    DeviceBuffer resid = floats(x0);
    DeviceBuffer h = alloc(2L * tokens * rows);
    kernels.w4Residual(aDev.ptr(), w.q4, resid.ptr(), tokens,
        new Kernels.ResidNorm(normW.ptr(), eps, h.ptr(), scratch.ptr(), barrier));
    float[] x = download(resid, tokens * rows);
    assertThat(x).as("residual with the norm vs without, %s", what)
        .containsExactly(download(plain, tokens * rows));
    compareBf16("h vs add_rmsnorm_bf16, " + what, ref, h, tokens * rows);
    float[] got = bf16ToFloat(downloadShorts(h, tokens * rows));
    float[] wts = bf16ToFloat(downloadShorts(normW, rows));
    for (int t = 0; t < tokens; t++) {
      double ss = 0;
      for (int r = 0; r < rows; r++) {
        ss += (double) x[t * rows + r] * x[t * rows + r];
      }
      double inv = 1 / Math.sqrt(ss / rows + eps);
      for (int r = 0; r < rows; r++) {
        double want = wts[r] * (x[t * rows + r] * inv);
        assertThat((double) got[t * rows + r]).as("%s, token %d row %d", what, t, r)
            .isCloseTo(want, org.assertj.core.data.Offset.offset(Math.abs(want) / 128 + 1e-6));
      }
    }

    int m = aloneTokens(tokens, w.q4);
    DeviceBuffer alone = floats(java.util.Arrays.copyOf(x0, m * rows));
    DeviceBuffer hAlone = alloc(2L * m * rows);
    kernels.w4Residual(permuted(w, shorts(java.util.Arrays.copyOf(aBits, m * k)), m).ptr(),
        w.q4, alone.ptr(), m, new Kernels.ResidNorm(normW.ptr(), eps, hAlone.ptr(),
            scratch.ptr(), barrier));
    assertSameBits("h, token alone vs batched, " + what, h, 0, hAlone, 0, rows);
  }

  /** A packed layer on the host (for reference math) and on the device. */
  private record Layer(CudaWeights.Packed packed, CudaWeights.Q4 q4) {}

  private Layer layer(Shape s, int k, int[] parts, long seed) {
    return layer(s, k, parts, seed, false);
  }

  /** sym: every zero point 8 (stored 7, the v1 format's offset of 1), else random ones. */
  private Layer layer(Shape s, int k, int[] parts, long seed, boolean sym) {
    Random rnd = new Random(seed * 7919L + k);
    GptqConfig gptq = new GptqConfig(4, s.group(), s.actOrder(), sym, 1);
    List<CudaWeights.GptqTensors> tensors = new ArrayList<>();
    for (int out : parts) {
      CudaWeights.GptqTensors t = CudaGptqPackTest.random(rnd, out, k, s.group(), s.actOrder(),
          CudaGptqPackTest.shuffled(rnd, k));
      if (sym) {
        java.util.Arrays.fill(t.qzeros(), 0x77777777);
      }
      tensors.add(t);
    }
    CudaWeights.Packed p = CudaWeights.pack(gptq, "test", tensors, k);
    CudaWeights.Q4 q4 = new CudaWeights.Q4(ints(p.codes()), ints(p.scaleZero()),
        p.perm() == null ? null : ints(p.perm()), p.invPerm() == null ? null : ints(p.invPerm()),
        p.rows(), p.k(), p.group(), p.parts(), p.bound1(), p.bound2());
    return new Layer(p, q4);
  }

  /** RMSNorm(x) bf16 by the unfused kernel. */
  private DeviceBuffer normed(DeviceBuffer x, DeviceBuffer normW, float eps, int hidden,
      int tokens) {
    DeviceBuffer h = alloc(2L * tokens * hidden);
    kernels.addRmsnorm(x.ptr(), null, null, normW.ptr(), h.ptr(), hidden, eps, tokens);
    return h;
  }

  /** h . w^T (tokens, rows) fp32 by the unfused path: act-order gather, then w4a16. */
  private DeviceBuffer unfusedW4(Layer w, DeviceBuffer h, int tokens) {
    CudaWeights.Packed p = w.packed;
    DeviceBuffer xs = h;
    long stride = 0;
    if (w.q4.perm() != null) {
      xs = alloc(2L * p.parts() * tokens * p.k());
      kernels.gatherCols(h.ptr(), w.q4.perm().ptr(), xs.ptr(), tokens, p.k(), p.parts());
      stride = (long) tokens * p.k();
    }
    DeviceBuffer y = alloc(4L * tokens * p.rows());
    kernels.w4a16(xs.ptr(), stride, w.q4.codes().ptr(), w.q4.scaleZero().ptr(), y.ptr(), tokens,
        p.rows(), p.k(), p.group(), p.bound1(), p.bound2());
    return y;
  }

  /** h's first {@code tokens} rows, one copy per act-order part in its order (or h). */
  private DeviceBuffer gathered(Layer w, DeviceBuffer h, int tokens) {
    if (w.q4.perm() == null) {
      return h;
    }
    DeviceBuffer out = alloc(2L * w.packed.parts() * tokens * w.packed.k());
    kernels.gatherCols(h.ptr(), w.q4.perm().ptr(), out.ptr(), tokens, w.packed.k(),
        w.packed.parts());
    return out;
  }

  private static long partStride(Layer w, int tokens) {
    return w.q4.perm() == null ? 0 : (long) tokens * w.packed.k();
  }

  /** a in the one-part layer's permuted input order (a itself when not act-order). */
  private DeviceBuffer permuted(Layer w, DeviceBuffer a, int tokens) {
    if (w.q4.perm() == null) {
      return a;
    }
    DeviceBuffer out = alloc(2L * tokens * w.packed.k());
    kernels.gatherCols(a.ptr(), w.q4.perm().ptr(), out.ptr(), tokens, w.packed.k(), 1);
    return out;
  }
}
