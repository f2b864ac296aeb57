package io.redress.inference.runtime.cuda;

import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemsetD32Async;
import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.testing.Gpu;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import jcuda.Pointer;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * Base of the kernel-level GPU tests: one device and one {@link Kernels} per test class, device
 * buffers freed after each test, and uploads and downloads that respect the kernels'
 * non-blocking stream. Skipped where no GPU is usable.
 */
abstract class KernelGpuTest {

  /**
   * |fused - unfused| <= BF16_TOLERANCE x max |unfused| for bf16 outputs of two paths that sum
   * in different orders: two bf16 ulps (anything beyond a rounding flip is a bug).
   */
  static final double BF16_TOLERANCE = 1.0 / 128;

  static CudaDevice device;
  static Kernels kernels;
  private final List<DeviceBuffer> buffers = new ArrayList<>();

  @BeforeAll
  static void open() {
    if (CudaDevice.probe(0).usable()) {
      device = CudaDevice.open(0);
      kernels = new Kernels(device.stream());
    }
  }

  @AfterAll
  static void close() {
    if (kernels != null) {
      kernels.close();
      device.close();
      kernels = null;
      device = null;
    }
  }

  @BeforeEach
  void gpu() {
    Gpu.assumeUsable();
    device.makeCurrent();
  }

  @AfterEach
  void free() {
    if (device != null) {
      device.synchronize();
      buffers.forEach(device::free);
    }
    buffers.clear();
  }

  /** A device buffer freed after the test. */
  DeviceBuffer alloc(long bytes) {
    DeviceBuffer b = device.alloc(bytes);
    buffers.add(b);
    return b;
  }

  /** Frees a buffer before the test ends. */
  void release(DeviceBuffer b) {
    device.free(b);
    buffers.remove(b);
  }

  DeviceBuffer ints(int[] values) {
    DeviceBuffer b = alloc(4L * Math.max(values.length, 1));
    cuMemcpyHtoD(b.ptr(), Pointer.to(values), 4L * values.length);
    uploaded();
    return b;
  }

  DeviceBuffer floats(float[] values) {
    DeviceBuffer b = alloc(4L * values.length);
    cuMemcpyHtoD(b.ptr(), Pointer.to(values), 4L * values.length);
    uploaded();
    return b;
  }

  DeviceBuffer shorts(short[] values) {
    DeviceBuffer b = alloc(2L * values.length);
    cuMemcpyHtoD(b.ptr(), Pointer.to(values), 2L * values.length);
    uploaded();
    return b;
  }

  /**
   * A plain copy from pageable memory runs on the legacy stream, which our non-blocking stream
   * does not wait for: let it land before kernels read it.
   */
  static void uploaded() {
    JCudaDriver.cuCtxSynchronize();
  }

  // Downloads wait for the kernels' stream first: the synchronous copy does not.

  int[] downloadInts(DeviceBuffer b, int n) {
    device.synchronize();
    int[] out = new int[n];
    cuMemcpyDtoH(Pointer.to(out), b.ptr(), 4L * n);
    return out;
  }

  float[] download(DeviceBuffer b, int n) {
    device.synchronize();
    float[] out = new float[n];
    cuMemcpyDtoH(Pointer.to(out), b.ptr(), 4L * n);
    return out;
  }

  short[] downloadShorts(DeviceBuffer b, int n) {
    device.synchronize();
    short[] out = new short[n];
    cuMemcpyDtoH(Pointer.to(out), b.ptr(), 2L * n);
    return out;
  }

  /** Asserts n bf16 values of a (from element aOff) and b (from bOff) are the same bits. */
  void assertSameBits(String what, DeviceBuffer a, long aOff, DeviceBuffer b, long bOff,
      int n) {
    short[] x = downloadShorts(a, (int) (aOff + n));
    short[] y = downloadShorts(b, (int) (bOff + n));
    for (int i = 0; i < n; i++) {
      assertThat(y[(int) bOff + i]).as("%s, element %d", what, i).isEqualTo(x[(int) aOff + i]);
    }
  }

  /**
   * Asserts two bf16 arrays agree within BF16_TOLERANCE x max |ref|; returns how many differ in any
   * bit.
   */
  int compareBf16(String what, DeviceBuffer refBuf, DeviceBuffer gotBuf, int n) {
    short[] ref = downloadShorts(refBuf, n);
    short[] got = downloadShorts(gotBuf, n);
    float[] r = bf16ToFloat(ref);
    float[] g = bf16ToFloat(got);
    double maxAbs = 0;
    double maxDiff = 0;
    int differing = 0;
    for (int i = 0; i < n; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(r[i]));
      maxDiff = Math.max(maxDiff, Math.abs(r[i] - g[i]));
      differing += ref[i] != got[i] ? 1 : 0;
    }
    assertThat(Float.isFinite((float) maxDiff)).as("finite, %s", what).isTrue();
    assertThat(maxDiff).as("max |fused - unfused|, %s (max |ref| %.3g)", what, maxAbs)
        .isLessThanOrEqualTo(BF16_TOLERANCE * maxAbs);
    return differing;
  }

  /** A fused QKV launch for the first {@code tokens} tokens into q and the K/V caches. */
  interface QkvLaunch {
    void run(int tokens, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer positions,
        DeviceBuffer slots);
  }

  /**
   * A fused QKV kernel against the RoPE + cache kernel over the unfused projection {@code qkv}
   * (tokens, rows) fp32 of the same layer: q and both caches within bf16 rounding, and token 0
   * alone the same bits as in the batch (q row and its cache slot).
   */
  void checkQkvRope(String shape, int heads, int kvHeads, int headDim, DeviceBuffer qkv,
      DeviceBuffer bias, int[] pos, int[] slot, int slotsTotal, float theta, QkvLaunch fused) {
    checkQkvRope(shape, heads, kvHeads, headDim, qkv, bias, pos, slot, slotsTotal, theta, 1,
        fused);
  }

  /**
   * {@link #checkQkvRope}, token 0 compared in a launch of the first {@code alone} tokens (a
   * kernel family's fewest, where the launch's token count picks the kernel).
   */
  void checkQkvRope(String shape, int heads, int kvHeads, int headDim, DeviceBuffer qkv,
      DeviceBuffer bias, int[] pos, int[] slot, int slotsTotal, float theta, int alone,
      QkvLaunch fused) {
    int tokens = pos.length;
    int qSize = heads * headDim;
    int kvSize = kvHeads * headDim;
    DeviceBuffer positions = ints(pos);
    DeviceBuffer slots = ints(slot);
    DeviceBuffer q1 = alloc(2L * tokens * qSize);
    DeviceBuffer k1 = zeros(2L * slotsTotal * kvSize);
    DeviceBuffer v1 = zeros(2L * slotsTotal * kvSize);
    kernels.qkvRopeCache(qkv.ptr(), bias.ptr(), positions.ptr(), slots.ptr(), q1.ptr(),
        k1.ptr(), v1.ptr(), heads, kvHeads, headDim, theta, tokens);
    DeviceBuffer q2 = alloc(2L * tokens * qSize);
    DeviceBuffer k2 = zeros(2L * slotsTotal * kvSize);
    DeviceBuffer v2 = zeros(2L * slotsTotal * kvSize);
    fused.run(tokens, q2, k2, v2, positions, slots);
    String what = shape + ", " + tokens + " tokens";
    compareBf16("q, " + what, q1, q2, tokens * qSize);
    compareBf16("k cache, " + what, k1, k2, slotsTotal * kvSize);
    compareBf16("v cache, " + what, v1, v2, slotsTotal * kvSize);
    DeviceBuffer q3 = alloc(2L * alone * qSize);
    DeviceBuffer k3 = zeros(2L * slotsTotal * kvSize);
    DeviceBuffer v3 = zeros(2L * slotsTotal * kvSize);
    fused.run(alone, q3, k3, v3, positions, slots);
    assertSameBits("q, token alone vs batched, " + what, q2, 0, q3, 0, qSize);
    long slot0 = (long) slot[0] * kvSize;
    assertSameBits("k cache, token alone vs batched, " + what, k2, slot0, k3, slot0, kvSize);
    assertSameBits("v cache, token alone vs batched, " + what, v2, slot0, v3, slot0, kvSize);
  }

  DeviceBuffer zeros(long bytes) {
    DeviceBuffer b = alloc(bytes);
    cuMemsetD32Async(b.ptr(), 0, bytes / 4, device.stream());
    return b;
  }

  DeviceBuffer bf16(long n, long seed, float mean, float std) {
    DeviceBuffer b = alloc(2 * n);
    kernels.fillNormal(b.ptr(), n, seed, mean, std);
    device.synchronize();
    return b;
  }

  static float[] bf16ToFloat(short[] v) {
    float[] out = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = Float.intBitsToFloat((v[i] & 0xffff) << 16);
    }
    return out;
  }

  static float[] gaussian(int n, long seed, float std) {
    Random r = new Random(seed);
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = (float) (r.nextGaussian() * std);
    }
    return out;
  }
}
