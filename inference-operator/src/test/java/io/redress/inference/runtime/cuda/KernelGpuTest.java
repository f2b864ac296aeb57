package io.redress.inference.runtime.cuda;

import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;

import io.redress.inference.testing.Gpu;
import java.util.ArrayList;
import java.util.List;
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
}
