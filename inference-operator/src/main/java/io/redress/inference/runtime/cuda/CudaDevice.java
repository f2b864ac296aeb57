package io.redress.inference.runtime.cuda;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuDeviceTotalMem;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import jcuda.NativePointerObject;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

/**
 * One GPU through the JCuda driver API: its primary context (shared with the CUDA runtime
 * inside cuBLAS), one stream, and every allocation made through it, so {@link #close()} frees
 * every device byte.
 */
public final class CudaDevice implements AutoCloseable {

  /** Whether a GPU is usable here, and if not, why. */
  public record Availability(boolean usable, String reason) {}

  private final int ordinal;
  private final CUdevice device = new CUdevice();
  private final CUcontext context = new CUcontext();
  private final CUstream stream = new CUstream();
  private final String name;
  private final List<DeviceBuffer> buffers = new ArrayList<>();
  private long allocated;
  private boolean closed;

  private CudaDevice(int ordinal) {
    this.ordinal = ordinal;
    JCudaDriver.setExceptionsEnabled(true);
    cuInit(0);
    cuDeviceGet(device, ordinal);
    cuDevicePrimaryCtxRetain(context, device);
    cuCtxSetCurrent(context);
    cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING);
    byte[] chars = new byte[256];
    cuDeviceGetName(chars, chars.length, device);
    this.name = new String(chars, 0, indexOfZero(chars), java.nio.charset.StandardCharsets.UTF_8);
  }

  /** Checks, without keeping anything open, whether GPU {@code ordinal} and our kernels work. */
  public static Availability probe(int ordinal) {
    if (!Kernels.built()) {
      return new Availability(false, "this build has no CUDA kernels (nvcc was not found when"
          + " it was built)");
    }
    try {
      JCudaDriver.setExceptionsEnabled(true);
      cuInit(0);
      int[] count = new int[1];
      cuDeviceGetCount(count);
      if (count[0] <= ordinal) {
        return new Availability(false, count[0] == 0 ? "no CUDA GPU found"
            : "GPU " + ordinal + " requested but only " + count[0] + " present");
      }
      return new Availability(true, "ok");
    } catch (Throwable e) { // UnsatisfiedLinkError without a driver, CudaException otherwise
      String why = String.valueOf(e.getMessage());
      int newline = why.indexOf('\n');
      return new Availability(false, "no usable CUDA driver ("
          + (newline < 0 ? why : why.substring(0, newline)).trim() + ")");
    }
  }

  /** Opens GPU {@code ordinal}; check {@link #probe} first for a clear message. */
  public static CudaDevice open(int ordinal) {
    return new CudaDevice(ordinal);
  }

  /** Makes this device's context current on the calling thread (cheap; call per step). */
  public void makeCurrent() {
    cuCtxSetCurrent(context);
  }

  CUdevice cuDevice() {
    return device;
  }

  CUcontext context() {
    return context;
  }

  public CUstream stream() {
    return stream;
  }

  public String name() {
    return name;
  }

  public int ordinal() {
    return ordinal;
  }

  /** Free and total device memory in bytes. */
  public long[] memInfo() {
    makeCurrent();
    long[] free = new long[1];
    long[] total = new long[1];
    cuMemGetInfo(free, total);
    return new long[] {free[0], total[0]};
  }

  public long totalMemory() {
    long[] total = new long[1];
    cuDeviceTotalMem(total, device);
    return total[0];
  }

  /** Bytes currently allocated through this device. */
  public long allocatedBytes() {
    return allocated;
  }

  /** Allocates {@code bytes} of device memory (freed by {@link #close()} at the latest). */
  public DeviceBuffer alloc(long bytes) {
    makeCurrent(); // cuMemAlloc allocates in the calling thread's current context
    CUdeviceptr ptr = new CUdeviceptr();
    cuMemAlloc(ptr, Math.max(bytes, 1));
    DeviceBuffer buffer = new DeviceBuffer(ptr, bytes, address(ptr));
    buffers.add(buffer);
    allocated += bytes;
    return buffer;
  }

  /** Frees one buffer early. */
  public void free(DeviceBuffer buffer) {
    if (buffers.remove(buffer)) {
      cuMemFree(buffer.ptr());
      allocated -= buffer.bytes();
    }
  }

  /**
   * Device-to-device copy bandwidth in GB/s, counting bytes read plus written: the roofline of
   * a bandwidth-bound kernel. Median of 20 copies of {@code bytes}.
   */
  public double copyBandwidthGbs(long bytes) {
    makeCurrent(); // events and copies belong to this device's context
    DeviceBuffer a = alloc(bytes);
    DeviceBuffer b = alloc(bytes);
    jcuda.driver.CUevent start = new jcuda.driver.CUevent();
    jcuda.driver.CUevent end = new jcuda.driver.CUevent();
    jcuda.driver.JCudaDriver.cuEventCreate(start, 0);
    jcuda.driver.JCudaDriver.cuEventCreate(end, 0);
    double[] gbs = new double[20];
    try {
      jcuda.driver.JCudaDriver.cuMemsetD8Async(a.ptr(), (byte) 1, bytes, stream);
      for (int i = -3; i < gbs.length; i++) {
        jcuda.driver.JCudaDriver.cuEventRecord(start, stream);
        jcuda.driver.JCudaDriver.cuMemcpyDtoDAsync(b.ptr(), a.ptr(), bytes, stream);
        jcuda.driver.JCudaDriver.cuEventRecord(end, stream);
        jcuda.driver.JCudaDriver.cuEventSynchronize(end);
        float[] ms = new float[1];
        jcuda.driver.JCudaDriver.cuEventElapsedTime(ms, start, end);
        if (i >= 0) {
          gbs[i] = 2.0 * bytes / (ms[0] / 1e3) / 1e9;
        }
      }
    } finally {
      jcuda.driver.JCudaDriver.cuEventDestroy(start);
      jcuda.driver.JCudaDriver.cuEventDestroy(end);
      free(a);
      free(b);
    }
    java.util.Arrays.sort(gbs);
    return gbs[gbs.length / 2];
  }

  public void synchronize() {
    cuStreamSynchronize(stream);
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    makeCurrent();
    cuCtxSynchronize();
    for (DeviceBuffer b : buffers) {
      cuMemFree(b.ptr());
    }
    buffers.clear();
    allocated = 0;
    cuStreamDestroy(stream);
    cuDevicePrimaryCtxRelease(device);
  }

  private static final Method NATIVE_POINTER =
      accessible(NativePointerObject.class, "getNativePointer");
  private static final Method BYTE_OFFSET = accessible(jcuda.Pointer.class, "getByteOffset");

  /** The raw address of a JCuda pointer object, its byte offset included (for JNA calls). */
  static long address(NativePointerObject p) {
    try {
      long base = (Long) NATIVE_POINTER.invoke(p);
      return p instanceof jcuda.Pointer ? base + (Long) BYTE_OFFSET.invoke(p) : base;
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot read a JCuda pointer's address", e);
    }
  }

  private static Method accessible(Class<?> type, String name) {
    try {
      Method m = type.getDeclaredMethod(name);
      m.setAccessible(true);
      return m;
    } catch (NoSuchMethodException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private static int indexOfZero(byte[] chars) {
    for (int i = 0; i < chars.length; i++) {
      if (chars[i] == 0) {
        return i;
      }
    }
    return chars.length;
  }
}
