package io.redress.inference.runtime.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.model.GptqConfig;
import io.redress.inference.model.SafeTensors;
import io.redress.inference.model.SafeTensorsWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The GPTQ kernels of w4a16.cu on random layers against the host: the tensor-core W4A16 kernel
 * (with the act-order gather) against a double-precision product of the CPU-dequantized weights
 * and the bf16 activations, for 1 to 64 tokens (every n-tile variant, full and partial), each
 * token's result bit-identical to a 1-token run; the warpgroup-MMA GEMM of larger steps against
 * the same product; the prefill dequantization bit-exact against bf16 of the CPU weights.
 */
@Tag("gpu")
class CudaW4a16GpuTest extends KernelGpuTest {

  /** |gpu - ref| <= TOLERANCE x sum |w x|: fp32 sums in a fixed order, weights exact. */
  static final double TOLERANCE = 2e-5;

  /** A layer: input width, stacked part heights, group (-1: one), act-order, shared order. */
  record Shape(int k, int[] parts, int group, boolean actOrder, boolean shared) {
    @Override
    public String toString() {
      return "k " + k + ", rows " + Arrays.toString(parts) + ", group " + group
          + (actOrder ? shared ? ", act-order" : ", act-order per part" : "");
    }
  }

  static final List<Shape> SHAPES = List.of(
      new Shape(256, new int[] {64}, 32, true, true),
      new Shape(320, new int[] {64, 16, 32}, 32, true, false), // three orders, 5 input pairs
      new Shape(512, new int[] {48, 16, 32}, 64, true, false), // a strip pair across parts
      new Shape(896, new int[] {1024}, 128, false, false),
      new Shape(1024, new int[] {512}, -1, false, false),
      new Shape(2048, new int[] {128, 64, 64}, 64, true, false),
      new Shape(4096, new int[] {256, 256}, 128, true, true));

  /** Every n-tile variant (1, 2, 4, 8 tiles of 8 tokens), full and partly filled. */
  static final int[] TOKENS = {1, 2, 7, 8, 9, 16, 17, 32, 33, 64};

  static Stream<Arguments> shapesAndTokens() {
    return SHAPES.stream().flatMap(s -> IntStream.of(TOKENS).mapToObj(t -> Arguments.of(s, t)));
  }

  static CudaWeights.Packed layer(Shape s) {
    Random rnd = new Random(s.k() * 7919L + s.parts().length);
    GptqConfig gptq = new GptqConfig(4, s.group(), s.actOrder(), false, 1);
    int[] order = CudaGptqPackTest.shuffled(rnd, s.k());
    List<CudaWeights.GptqTensors> parts = new ArrayList<>();
    for (int out : s.parts()) {
      parts.add(CudaGptqPackTest.random(rnd, out, s.k(), s.group(), s.actOrder(),
          s.shared() ? order : CudaGptqPackTest.shuffled(rnd, s.k())));
    }
    return CudaWeights.pack(gptq, "test", parts, s.k());
  }

  @ParameterizedTest
  @MethodSource("shapesAndTokens")
  void kernelMatchesHostDequantizeAndMatmul(Shape s, int tokens) {
    CudaWeights.Packed p = layer(s);
    int k = p.k();
    int rows = p.rows();
    short[] xBits = gaussianBf16(tokens, tokens * k);
    float[] y = run(p, xBits, tokens);
    assertMatchesHost(p, xBits, y, tokens, s.toString());
    for (int t = 0; t < tokens; t++) {
      // Each token's sums run in the same order whatever the batch: bit-identical alone.
      float[] alone = run(p, Arrays.copyOfRange(xBits, t * k, (t + 1) * k), 1);
      assertThat(Arrays.copyOfRange(y, t * rows, (t + 1) * rows))
          .as("%s, token %d of %d against 1 token", s, t, tokens).containsExactly(alone);
    }
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void dequantizationIsBf16OfTheHostWeights(Shape s) {
    CudaWeights.Packed p = layer(s);
    int k = p.k();
    int rows = p.rows();
    DeviceBuffer w = alloc(2L * rows * k);
    DeviceBuffer[] q = upload(p);
    kernels.dequantW4(q[0].ptr(), q[1].ptr(), q[3] == null ? null : q[3].ptr(), w.ptr(), rows,
        k, p.group(), p.bound1(), p.bound2());
    short[] out = downloadShorts(w, rows * k);
    for (int r = 0; r < rows; r++) {
      for (int i = 0; i < k; i++) {
        short want = SafeTensorsWriter.floatToBf16(p.weight(r, i));
        if (out[r * k + i] != want) {
          assertThat(out[r * k + i]).as("%s, row %d input %d", s, r, i).isEqualTo(want);
        }
      }
    }
  }

  static Stream<Shape> shapes() {
    return SHAPES.stream();
  }

  /**
   * Layers the GEMM tiling takes (not act-order): 4 strips (a block part-filled), 5 input
   * pairs (a stage part-filled), groups of 32, 64, 128 and one, 136 strips (17 blocks).
   * {@link Kernels#w4a16} gives it only layers of a block per SM or more; called directly here.
   */
  static Stream<Arguments> gemmShapesAndTokens() {
    return Stream.of(new Shape(320, new int[] {64}, 32, false, false),
        new Shape(896, new int[] {1024}, 128, false, false),
        new Shape(1024, new int[] {512}, -1, false, false),
        new Shape(2048, new int[] {1536, 256, 384}, 64, false, false))
        .flatMap(s -> IntStream.of(TOKENS).mapToObj(t -> Arguments.of(s, t)));
  }

  /**
   * The GEMM tiling (w4a16_gemm.cu, 8 strips a block sharing each staged activation tile)
   * against the fused kernels' GEMV in 16-token slices ({@link Kernels#w4Rows}), which
   * {@link Kernels#w4a16} runs below 17 tokens and on narrow layers and the test above checks
   * against the host: the same bits for every token count (the GEMM keeps their warps' k
   * ranges apart and adds them in their order).
   */
  @ParameterizedTest
  @MethodSource("gemmShapesAndTokens")
  void gemmTilingGivesTheMmaKernelsBits(Shape s, int tokens) {
    CudaWeights.Packed p = layer(s);
    int k = p.k();
    int rows = p.rows();
    short[] xBits = gaussianBf16(31L * tokens + k, tokens * k);
    DeviceBuffer[] q = upload(p);
    DeviceBuffer x = shorts(xBits);
    DeviceBuffer fused = alloc(4L * tokens * rows);
    DeviceBuffer gemm = alloc(4L * tokens * rows);
    for (int t0 = 0; t0 < tokens; t0 += Kernels.W4M_MAX_TOKENS) {
      kernels.w4Rows(x.at(2L * t0 * k), q[0].ptr(), q[1].ptr(), fused.at(4L * t0 * rows),
          Math.min(Kernels.W4M_MAX_TOKENS, tokens - t0), rows, k, p.group());
    }
    kernels.w4a16Gemm(x.ptr(), q[0].ptr(), q[1].ptr(), gemm.ptr(), tokens, rows, k, p.group());
    assertThat(download(gemm, tokens * rows)).as("%s, %d tokens", s, tokens)
        .containsExactly(download(fused, tokens * rows));
  }

  /**
   * Layers and token counts the warpgroup-MMA GEMM takes (w4a16_wgmma.cu, more tokens than
   * {@link Kernels#w4a16}'s 64): groups of 32, 64, 128 and one (all of k), token tiles of 64
   * full and partly filled, a stacked layer.
   */
  static Stream<Arguments> wgmmaShapesAndTokens() {
    return Stream.of(new Shape(384, new int[] {192}, 32, false, false),
        new Shape(896, new int[] {1024}, 128, false, false),
        new Shape(1024, new int[] {512}, -1, false, false),
        new Shape(2048, new int[] {1536, 256, 384}, 64, false, false))
        .flatMap(s -> IntStream.of(65, 100, 128, 192).mapToObj(t -> Arguments.of(s, t)));
  }

  /**
   * The warpgroup-MMA GEMM, one warpgroup a block and (rows allowing) two, against a
   * double-precision product of the host's exact weights: it unpacks q - zero exactly and
   * scales each group's fp32 sums, as the kernel above does, so it meets the same bound.
   */
  @ParameterizedTest
  @MethodSource("wgmmaShapesAndTokens")
  void wgmmaMatchesHostDequantizeAndMatmul(Shape s, int tokens) {
    CudaWeights.Packed p = layer(s);
    Assumptions.assumeTrue(kernels.w4WgmmaFits(p.rows(), p.k(), p.group()), "needs sm_90's wgmma");
    checkWgmma(p, upload(p), null, tokens, 17L * tokens + p.k(), s.toString());
  }

  /**
   * The _z8 twins, over the strip-major scales without zero points that the runner makes where
   * every zero point is 8 ({@link Kernels#w4ChainScales}): a symmetric layer, groups of 64 and
   * 128, against the same host product.
   */
  @ParameterizedTest
  @MethodSource("wgmmaZ8ShapesAndTokens")
  void wgmmaOverScalesWithoutZeroPointsMatchesHost(Shape s, int tokens) {
    CudaWeights.Packed p = randomLayer(s, new Random(s.k() * 31L + tokens), true);
    int k = p.k();
    int rows = p.rows();
    Assumptions.assumeTrue(kernels.w4WgmmaFits(rows, k, p.group()), "needs sm_90's wgmma");
    DeviceBuffer[] q = upload(p);
    DeviceBuffer szs = stripScales(p, q, true);
    checkWgmma(p, q, szs, tokens, 19L * tokens + k, s + ", scales without zero points");
  }

  /**
   * Runs the warpgroup-MMA GEMM over {@code tokens} seeded activations, one warpgroup a block
   * and (rows a multiple of 128) two, each time into a NaN-filled y (a row the kernel misses
   * fails), and checks y against the host's product, made once. szs: the strip-major scales
   * without zero points (the _z8 twins), or null.
   */
  private void checkWgmma(CudaWeights.Packed p, DeviceBuffer[] q, DeviceBuffer szs, int tokens,
      long seed, String what) {
    int k = p.k();
    int rows = p.rows();
    short[] xBits = gaussianBf16(seed, tokens * k);
    DeviceBuffer x = shorts(xBits);
    DeviceBuffer xp = alloc(2L * tokens * k);
    float[] nans = new float[tokens * rows];
    Arrays.fill(nans, Float.NaN);
    double[][] host = hostProduct(p, xBits, tokens);
    for (int wgs = 1; wgs <= (rows % 128 == 0 ? 2 : 1); wgs++) {
      DeviceBuffer y = floats(nans);
      kernels.w4Wgmma(x.ptr(), xp.ptr(), q[0].ptr(), q[1].ptr(), szs == null ? null : szs.ptr(),
          y.ptr(), tokens, rows, k, p.group(), wgs);
      assertMatches(host, download(y, tokens * rows), rows,
          what + ", " + wgs + " warpgroups a block");
    }
  }

  /**
   * The warp-specialized form (w4a16_wgmma_ws.cu) over the strip-major scales, with zero points
   * (random ones) and without (every zero point 8), token tiles of 64 and of 128, k in one run
   * and in two, and as the engine picks them, into a NaN-filled y, against the host's exact
   * product: groups of 64 and 128, a stacked layer, tiles partly filled and full, k long enough
   * that every ring slot is refilled and k short enough that a k run fills part of the ring or
   * none of it.
   */
  @ParameterizedTest
  @MethodSource({"wsShapesAndTokens", "wsShortShapesAndTokens"})
  void warpSpecializedMatchesHost(Shape s, int tokens, boolean z8) {
    CudaWeights.Packed p = randomLayer(s, new Random(s.k() * 43L + tokens), z8);
    int k = p.k();
    int rows = p.rows();
    Assumptions.assumeTrue(kernels.w4WsFits(rows, k, p.group()), "needs sm_90's wgmma");
    DeviceBuffer[] q = upload(p);
    DeviceBuffer szs = stripScales(p, q, z8);
    short[] xBits = gaussianBf16(23L * tokens + k, tokens * k);
    DeviceBuffer x = shorts(xBits);
    DeviceBuffer xs = alloc(2L * ((tokens + 127) / 128) * 128 * k);
    float[] nans = new float[tokens * rows];
    Arrays.fill(nans, Float.NaN);
    double[][] host = hostProduct(p, xBits, tokens);
    for (int bn = 64; bn <= 128; bn *= 2) {
      for (int splits = 1; splits <= 2; splits++) {
        DeviceBuffer y = floats(nans);
        kernels.w4Ws(x.ptr(), xs.ptr(), q[0].ptr(), szs.ptr(), z8, y.ptr(), tokens, rows, k,
            p.group(), bn, splits);
        assertMatches(host, download(y, tokens * rows), rows,
            s + (z8 ? ", scales without zero points, " : ", ") + "tiles of " + bn + ", " + splits
                + " k runs");
      }
    }
    DeviceBuffer y = floats(nans); // and as the engine calls it
    kernels.w4Ws(x.ptr(), xs.ptr(), q[0].ptr(), szs.ptr(), z8, y.ptr(), tokens, rows, k,
        p.group());
    assertMatches(host, download(y, tokens * rows), rows, s + ", by the rule");
  }

  /**
   * The strip-major scales the runner makes for the uploaded layer q of p ({@link
   * Kernels#w4ChainScales}): without zero points when {@code z8}.
   */
  private DeviceBuffer stripScales(CudaWeights.Packed p, DeviceBuffer[] q, boolean z8) {
    CudaWeights.Q4 w = new CudaWeights.Q4(q[0], q[1], null, null, p.rows(), p.k(), p.group(), 1,
        p.rows(), p.rows());
    DeviceBuffer szs = alloc(Kernels.w4ChainScaleBytes(w, z8));
    kernels.w4ChainScales(w, szs.ptr(), z8);
    return szs;
  }

  /** A random layer of shape s (not act-order), every zero point 8 when {@code eights}. */
  private static CudaWeights.Packed randomLayer(Shape s, Random rnd, boolean eights) {
    List<CudaWeights.GptqTensors> parts = new ArrayList<>();
    for (int out : s.parts()) {
      CudaWeights.GptqTensors t = CudaGptqPackTest.random(rnd, out, s.k(), s.group(), false, null);
      if (eights) {
        int[] zeros = new int[t.qzeros().length];
        Arrays.fill(zeros, 0x77777777); // stored 7, + 1: every zero point 8
        t = new CudaWeights.GptqTensors(t.qweight(), zeros, t.scales(), t.gIdx(), out);
      }
      parts.add(t);
    }
    return CudaWeights.pack(new GptqConfig(4, s.group(), false, false, 1), "test", parts, s.k());
  }

  static Stream<Arguments> wsShapesAndTokens() {
    // k of 2304: 18 stages, each slot of the ring of 4 refilled four times (twice a k half)
    return Stream.of(new Shape(2304, new int[] {256}, 128, false, false),
        new Shape(1024, new int[] {256, 128, 128}, 64, false, false))
        .flatMap(s -> Stream.of(Arguments.of(s, 65, false), Arguments.of(s, 100, true),
            Arguments.of(s, 128, false), Arguments.of(s, 129, true), Arguments.of(s, 192, false),
            Arguments.of(s, 200, true), Arguments.of(s, 256, false), Arguments.of(s, 256, true)));
  }

  static Stream<Arguments> wsShortShapesAndTokens() {
    // k of 384 and 128: fewer stages than the ring, and with two k runs one and two (384) or
    // none at all (128: that block only adds its zeros)
    return Stream.of(new Shape(384, new int[] {256}, 128, false, false),
        new Shape(128, new int[] {128, 128}, 128, false, false))
        .flatMap(s -> Stream.of(Arguments.of(s, 65, false), Arguments.of(s, 192, true),
            Arguments.of(s, 256, false)));
  }

  static Stream<Arguments> wgmmaZ8ShapesAndTokens() {
    return Stream.of(new Shape(896, new int[] {512}, 128, false, false),
        new Shape(1024, new int[] {256, 128, 128}, 64, false, false))
        .flatMap(s -> IntStream.of(65, 128, 192).mapToObj(t -> Arguments.of(s, t)));
  }

  /**
   * y (tokens, rows) against a double-precision product of the host's weights and the bf16
   * activations: |y - ref| <= TOLERANCE x sum |w x| (NaN fails).
   */
  private static void assertMatchesHost(CudaWeights.Packed p, short[] xBits, float[] y,
      int tokens, String what) {
    assertMatches(hostProduct(p, xBits, tokens), y, p.rows(), what);
  }

  /**
   * The host's exact product of p and x (tokens, k): {reference, sum of the terms' magnitudes}
   * for each (token, row), once for the several launches a case checks against it.
   */
  private static double[][] hostProduct(CudaWeights.Packed p, short[] xBits, int tokens) {
    int k = p.k();
    int rows = p.rows();
    float[] x = new float[tokens * k];
    for (int i = 0; i < x.length; i++) {
      x[i] = SafeTensors.bf16ToFloat(xBits[i]);
    }
    double[][] out = new double[2][tokens * rows];
    for (int r = 0; r < rows; r++) {
      double[] w = new double[k];
      for (int i = 0; i < k; i++) {
        w[i] = p.weight(r, i);
      }
      for (int t = 0; t < tokens; t++) {
        double ref = 0;
        double abs = 0;
        for (int i = 0; i < k; i++) {
          double v = w[i] * x[t * k + i];
          ref += v;
          abs += Math.abs(v);
        }
        out[0][t * rows + r] = ref;
        out[1][t * rows + r] = abs;
      }
    }
    return out;
  }

  /** y (tokens, rows) against {@link #hostProduct}, to TOLERANCE of each sum's magnitudes. */
  private static void assertMatches(double[][] host, float[] y, int rows, String what) {
    for (int j = 0; j < host[0].length; j++) {
      double diff = Math.abs(y[j] - host[0][j]);
      if (!(diff <= TOLERANCE * host[1][j])) {
        assertThat(diff).as("%s, token %d, row %d", what, j / rows, j % rows)
            .isLessThanOrEqualTo(TOLERANCE * host[1][j]);
      }
    }
  }

  /** n standard normal draws (seeded) as bf16 bits. */
  private static short[] gaussianBf16(long seed, int n) {
    Random rnd = new Random(seed);
    short[] bits = new short[n];
    for (int i = 0; i < n; i++) {
      bits[i] = SafeTensorsWriter.floatToBf16((float) rnd.nextGaussian());
    }
    return bits;
  }

  /** y (tokens, rows) from the device: gather (act-order) then the W4A16 kernel. */
  private float[] run(CudaWeights.Packed p, short[] xBits, int tokens) {
    int k = p.k();
    DeviceBuffer[] q = upload(p);
    DeviceBuffer x = shorts(xBits);
    DeviceBuffer y = alloc(4L * tokens * p.rows());
    long stride = 0;
    DeviceBuffer xs = x;
    if (q[2] != null) {
      xs = alloc(2L * p.parts() * tokens * k);
      kernels.gatherCols(x.ptr(), q[2].ptr(), xs.ptr(), tokens, k, p.parts());
      stride = (long) tokens * k;
    }
    kernels.w4a16(xs.ptr(), stride, q[0].ptr(), q[1].ptr(), y.ptr(), tokens, p.rows(), k,
        p.group(), p.bound1(), p.bound2());
    return download(y, tokens * p.rows());
  }

  /** codes, scaleZero, perm, invPerm (the last two null when not permuted). */
  private DeviceBuffer[] upload(CudaWeights.Packed p) {
    return new DeviceBuffer[] {ints(p.codes()), ints(p.scaleZero()),
        p.perm() == null ? null : ints(p.perm()), p.invPerm() == null ? null : ints(p.invPerm())};
  }
}
