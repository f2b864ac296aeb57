package io.redress.inference.runtime.cuda;

import java.util.Arrays;
import jcuda.driver.CUevent;
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
    CUevent start = new CUevent();
    CUevent end = new CUevent();
    JCudaDriver.cuEventCreate(start, 0);
    JCudaDriver.cuEventCreate(end, 0);
    try {
      kernels.fillNormal(x.ptr(), (long) tokens * in, 1, 0f, 1f);
      kernels.fillNormal(w.ptr(), (long) out * in, 2, 0f, 0.02f);
      double[] ms = new double[7];
      for (int i = -1; i < ms.length; i++) {
        JCudaDriver.cuEventRecord(start, device.stream());
        for (int k = 0; k < iters; k++) {
          cublas.linear(x.ptr(), w.ptr(), y.ptr(), tokens, in, out, algo);
        }
        JCudaDriver.cuEventRecord(end, device.stream());
        JCudaDriver.cuEventSynchronize(end);
        float[] t = new float[1];
        JCudaDriver.cuEventElapsedTime(t, start, end);
        if (i >= 0) {
          ms[i] = t[0] / iters;
        }
      }
      Arrays.sort(ms);
      return ms[ms.length / 2];
    } finally {
      JCudaDriver.cuEventDestroy(start);
      JCudaDriver.cuEventDestroy(end);
      device.free(x);
      device.free(w);
      device.free(y);
    }
  }

  @Override
  public void close() {
    cublas.close();
    device.close();
  }
}
