package io.redress.inference.runtime.cuda;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import jcuda.driver.CUevent;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUstreamCaptureMode;
import jcuda.driver.JCudaDriver;

/**
 * Times the prefill GEMM exactly as the CUDA runner issues it ({@link Cublas#linear}: bf16
 * activations and nn.Linear weights, fp32 accumulation and output) with CUDA events, for the
 * GEMM benchmark that compares it with torch.matmul on the same GPU.
 */
public final class GemmTimer implements AutoCloseable {

  private final CudaDevice device;
  private final Kernels kernels;
  private final Cublas cublas;

  public GemmTimer(int ordinal) {
    this.device = CudaDevice.open(ordinal);
    this.kernels = new Kernels(device.stream());
    this.cublas = new Cublas(device);
  }

  public String deviceName() {
    return device.name();
  }

  /**
   * Milliseconds per call of {@code y = x w^T}, x (tokens, in): {@code iters} calls enqueued
   * back to back between two events (as the runner enqueues a step's GEMMs, so host-side call
   * overhead overlaps the GPU's work), median of 7 such batches.
   */
  public double medianMillis(int tokens, int in, int out, int iters) {
    return medianMillis(tokens, in, out, iters, -1);
  }

  /** {@link #medianMillis(int, int, int, int)} with a given cublasGemmAlgo_t. */
  public double medianMillis(int tokens, int in, int out, int iters, int algo) {
    DeviceBuffer x = device.alloc(2L * tokens * in);
    DeviceBuffer w = device.alloc(2L * out * in);
    DeviceBuffer y = device.alloc(4L * tokens * out);
    try {
      kernels.fillNormal(x.ptr(), (long) tokens * in, 1, 0f, 1f);
      kernels.fillNormal(w.ptr(), (long) out * in, 2, 0f, 0.02f);
      return medianMillis(() -> {
        for (int k = 0; k < iters; k++) {
          cublas.linear(x.ptr(), w.ptr(), y.ptr(), tokens, in, out, algo);
        }
      }) / iters;
    } finally {
      device.free(x);
      device.free(w);
      device.free(y);
    }
  }

  /**
   * GPU milliseconds of what {@code enqueue} puts on the stream, between two CUDA events: one
   * warm-up run, then the median of 7.
   */
  private double medianMillis(Runnable enqueue) {
    CUevent start = new CUevent();
    CUevent end = new CUevent();
    JCudaDriver.cuEventCreate(start, 0);
    JCudaDriver.cuEventCreate(end, 0);
    try {
      double[] ms = new double[7];
      float[] t = new float[1];
      for (int i = -1; i < ms.length; i++) {
        JCudaDriver.cuEventRecord(start, device.stream());
        enqueue.run();
        JCudaDriver.cuEventRecord(end, device.stream());
        JCudaDriver.cuEventSynchronize(end);
        JCudaDriver.cuEventElapsedTime(t, start, end);
        if (i >= 0) {
          ms[i] = t[0];
        }
      }
      Arrays.sort(ms);
      return ms[ms.length / 2];
    } finally {
      JCudaDriver.cuEventDestroy(start);
      JCudaDriver.cuEventDestroy(end);
    }
  }

  /** Copy bandwidth of the device in GB/s (bytes read plus written), the GEMV's roofline. */
  public double copyBandwidthGbs() {
    return device.copyBandwidthGbs(1L << 30);
  }

  /**
   * Microseconds per decode GEMV {@code y = x w^T} for {@code tokens} tokens as the CUDA runner
   * issues it: {@code fused} false for gemv_bf16 (fp32 output), true for the fused kernel that
   * adds into the residual stream. Calls cycle over enough copies of w (at least 256 MB) that
   * each reads its weights from HBM, not from L2; {@code iters} calls in one CUDA graph, median
   * of 7 replays.
   */
  public double gemvMicros(int tokens, int in, int out, int iters, boolean fused) {
    long wBytes = 2L * out * in;
    int copies = (int) Math.max(2, (256L << 20) / wBytes + 1);
    DeviceBuffer x = device.alloc(2L * tokens * in);
    DeviceBuffer y = device.alloc(4L * tokens * Math.max(in, out));
    DeviceBuffer[] w = new DeviceBuffer[copies];
    try {
      kernels.fillNormal(x.ptr(), (long) tokens * in, 1, 0f, 1f);
      kernels.fillNormal(y.ptr(), (long) tokens * Math.max(in, out) * 2, 3, 0f, 1f);
      for (int c = 0; c < copies; c++) {
        w[c] = device.alloc(wBytes);
        kernels.fillNormal(w[c].ptr(), (long) out * in, 2 + c, 0f, 0.02f);
      }
      if (fused) {
        kernels.prepareFused(in, tokens);
      }
      return graphMicros(iters, k -> {
        if (fused) {
          kernels.gemvResidual(x.ptr(), w[k % copies].ptr(), y.ptr(), tokens, out, in);
        } else {
          kernels.gemv(x.ptr(), w[k % copies].ptr(), y.ptr(), tokens, out, in);
        }
      });
    } finally {
      device.free(x);
      device.free(y);
      for (DeviceBuffer b : w) {
        if (b != null) {
          device.free(b);
        }
      }
    }
  }

  /**
   * Microseconds per call of {@code iters} launches ({@code launch.accept(k)}) captured as one
   * CUDA graph, as decode steps run (host launch costs, several us per JCuda call, would
   * otherwise bound the small shapes); median of 7 replays.
   */
  private double graphMicros(int iters, java.util.function.IntConsumer launch) {
    CUgraph graph = new CUgraph();
    JCudaDriver.cuStreamBeginCapture(device.stream(),
        CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
    for (int k = 0; k < iters; k++) {
      launch.accept(k);
    }
    JCudaDriver.cuStreamEndCapture(device.stream(), graph);
    CUgraphExec exec = new CUgraphExec();
    JCudaDriver.cuGraphInstantiate(exec, graph, 0);
    try {
      return 1e3 * medianMillis(() -> JCudaDriver.cuGraphLaunch(exec, device.stream())) / iters;
    } finally {
      JCudaDriver.cuGraphExecDestroy(exec);
      JCudaDriver.cuGraphDestroy(graph);
    }
  }

  /**
   * Microseconds per call of the GPTQ int4 kernel ({@link Kernels#w4a16}; {@code fused}: the
   * fused decode kernels' GEMV, {@link Kernels#w4Residual}) on random codes, groups of
   * {@code group} inputs, timed like {@link #gemvMicros} (HBM, one CUDA graph).
   */
  public double w4Micros(int tokens, int in, int out, int iters, int group, boolean fused) {
    return w4Micros(tokens, in, out, iters, group, fused ? W4Kernel.FUSED : W4Kernel.MMA);
  }

  /**
   * The GPTQ kernels {@link #w4Micros} times: w4a16.cu's, w4a16_gemm.cu's, the fused GEMV over
   * row-major {scale, zero} (the {@code _g64} twins) and over the strip-major scales without
   * zero points that a symmetric checkpoint's layers get in the engine (the {@code _z8} twins).
   */
  public enum W4Kernel { MMA, GEMM, FUSED, FUSED_Z8 }

  /** {@link #w4Micros(int, int, int, int, int, boolean)} for one {@link W4Kernel}. */
  public double w4Micros(int tokens, int in, int out, int iters, int group, W4Kernel kernel) {
    long codeBytes = (long) out * in / 2;
    long szBytes = 4L * out * (in / group);
    int copies = (int) Math.max(2, (256L << 20) / (codeBytes + szBytes) + 1);
    DeviceBuffer x = device.alloc(2L * tokens * in);
    DeviceBuffer y = device.alloc(4L * tokens * out);
    DeviceBuffer[] codes = new DeviceBuffer[copies];
    DeviceBuffer[] sz = new DeviceBuffer[copies];
    CudaWeights.Q4[] q4 = new CudaWeights.Q4[copies];
    DeviceBuffer[] szs = new DeviceBuffer[copies];
    try {
      kernels.fillNormal(x.ptr(), (long) tokens * in, 1, 0f, 1f);
      for (int c = 0; c < copies; c++) {
        codes[c] = device.alloc(codeBytes);
        kernels.fillRandomU32(codes[c].ptr(), codeBytes / 4, 2 + c);
        sz[c] = device.alloc(szBytes);
        kernels.fillScaleZeroW4(sz[c].ptr(), szBytes / 4, 100 + c, 0.01f);
      }
      if (kernel == W4Kernel.GEMM) {
        return graphMicros(iters, k -> kernels.w4a16Gemm(x.ptr(), codes[k % copies].ptr(),
            sz[k % copies].ptr(), y.ptr(), tokens, out, in, group));
      }
      if (kernel == W4Kernel.FUSED || kernel == W4Kernel.FUSED_Z8) {
        kernels.prepareW4Fused();
        for (int c = 0; c < copies; c++) {
          q4[c] = new CudaWeights.Q4(codes[c], sz[c], null, null, out, in, group, 1, out, out);
          if (kernel == W4Kernel.FUSED_Z8) { // the scales as they are, their zero points taken as 8
            szs[c] = device.alloc(Kernels.w4ChainScaleBytes(q4[c], true));
            kernels.w4ChainScales(q4[c], szs[c].ptr(), true);
            q4[c] = q4[c].withStripScales(szs[c], true);
          }
        }
        return graphMicros(iters, k -> kernels.w4Residual(x.ptr(), q4[k % copies], y.ptr(),
            tokens));
      }
      return graphMicros(iters, k -> kernels.w4a16Mma(x.ptr(), 0, codes[k % copies].ptr(),
          sz[k % copies].ptr(), y.ptr(), tokens, out, in, group, Integer.MAX_VALUE,
          Integer.MAX_VALUE));
    } finally {
      device.free(x);
      device.free(y);
      for (int c = 0; c < copies; c++) {
        if (codes[c] != null) {
          device.free(codes[c]);
        }
        if (sz[c] != null) {
          device.free(sz[c]);
        }
        if (szs[c] != null) {
          device.free(szs[c]);
        }
      }
    }
  }

  /**
   * The decode attention kernels {@link #attentionMicros} times: CUDA-core split per query
   * head, split per KV head, a block per (token, KV head); the tensor-core decode kernel split
   * and whole.
   */
  public enum AttentionKernel { SPLIT, GQA_SPLIT, GQA, MMA_SPLIT, MMA }

  /**
   * Microseconds per decode attention call: {@code tokens} sequences (one new token each) at
   * position {@code context - 1} over a bf16 cache of block size 16, timed like
   * {@link #gemvMicros} (one CUDA graph; the calls cycle over caches adding up to 256 MB, so
   * the K/V rows come from HBM as a layer's would).
   */
  public double attentionMicros(AttentionKernel kernel, int tokens, int context, int heads,
      int kvHeads, int headDim, int iters) {
    int blockSize = 16;
    int maxBlocks = (context + blockSize - 1) / blockSize;
    long slots = (long) tokens * maxBlocks * blockSize;
    long cacheBytes = 2L * slots * kvHeads * headDim;
    int copies = (int) Math.max(2, (256L << 20) / (2 * cacheBytes) + 1);
    int[] table = new int[tokens * maxBlocks];
    int[] positions = new int[tokens];
    int[] seqs = new int[tokens];
    for (int t = 0; t < tokens; t++) {
      positions[t] = context - 1;
      seqs[t] = t;
      for (int b = 0; b < maxBlocks; b++) {
        table[t * maxBlocks + b] = t * maxBlocks + b;
      }
    }
    List<DeviceBuffer> owned = new ArrayList<>();
    try {
      DeviceBuffer q = own(owned, device.alloc(2L * tokens * heads * headDim));
      DeviceBuffer out = own(owned, device.alloc(2L * tokens * heads * headDim));
      DeviceBuffer tables = own(owned, CudaWeights.upload(device, table));
      DeviceBuffer pos = own(owned, CudaWeights.upload(device, positions));
      DeviceBuffer seq = own(owned, CudaWeights.upload(device, seqs));
      long partials = Kernels.attentionSplitFloats(tokens, heads, headDim);
      DeviceBuffer partO = own(owned, device.alloc(4 * partials));
      DeviceBuffer partMl = own(owned, device.alloc(4 * partials / headDim * 2));
      DeviceBuffer counters = own(owned, device.alloc(4L * tokens * heads));
      JCudaDriver.cuMemsetD32(counters.ptr(), 0, (long) tokens * heads);
      kernels.fillNormal(q.ptr(), (long) tokens * heads * headDim, 1, 0f, 1f);
      DeviceBuffer[] k = new DeviceBuffer[copies];
      DeviceBuffer[] v = new DeviceBuffer[copies];
      for (int c = 0; c < copies; c++) {
        k[c] = own(owned, device.alloc(cacheBytes));
        v[c] = own(owned, device.alloc(cacheBytes));
        kernels.fillNormal(k[c].ptr(), cacheBytes / 2, 2 + c, 0f, 1f);
        kernels.fillNormal(v[c].ptr(), cacheBytes / 2, 100 + c, 0f, 1f);
      }
      float scale = (float) (1 / Math.sqrt(headDim));
      return graphMicros(iters, i -> {
        int c = i % copies;
        switch (kernel) {
          case SPLIT -> kernels.attentionSplit(q.ptr(), k[c].ptr(), v[c].ptr(), seq.ptr(),
              pos.ptr(), tables.ptr(), maxBlocks, blockSize, out.ptr(), heads, kvHeads,
              headDim, scale, partO.ptr(), partMl.ptr(), counters.ptr(), tokens);
          case GQA_SPLIT -> kernels.attentionGqaSplit(q.ptr(), k[c].ptr(), v[c].ptr(), null,
              null, seq.ptr(), pos.ptr(), tables.ptr(), maxBlocks, blockSize, out.ptr(), heads,
              kvHeads, headDim, scale, partO.ptr(), partMl.ptr(), counters.ptr(), tokens);
          case GQA -> kernels.attention(q.ptr(), k[c].ptr(), v[c].ptr(), seq.ptr(), pos.ptr(),
              tables.ptr(), maxBlocks, blockSize, out.ptr(), heads, kvHeads, headDim, scale,
              tokens);
          case MMA_SPLIT, MMA -> kernels.attentionDecodeMma(q.ptr(), k[c].ptr(), v[c].ptr(),
              null, null, seq.ptr(), pos.ptr(), tables.ptr(), maxBlocks, blockSize, out.ptr(), heads,
              kvHeads, headDim, scale, partO.ptr(), partMl.ptr(), counters.ptr(), tokens,
              kernel == AttentionKernel.MMA_SPLIT);
        }
      });
    } finally {
      owned.forEach(device::free);
    }
  }

  private static DeviceBuffer own(List<DeviceBuffer> owned, DeviceBuffer b) {
    owned.add(b);
    return b;
  }

  @Override
  public void close() {
    cublas.close();
    device.close();
  }
}
