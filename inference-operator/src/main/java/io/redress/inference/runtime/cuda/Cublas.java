package io.redress.inference.runtime.cuda;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;
import jcuda.driver.CUdeviceptr;

/**
 * cuBLAS bf16 GEMMs through JNA, on our stream and our device memory (it shares the primary
 * context), with a preallocated workspace so calls can be captured into CUDA graphs. Loads
 * whichever libcublas (13 or 12) the machine has.
 */
final class Cublas implements AutoCloseable {

  /** The few cuBLAS entry points we use. */
  interface Lib extends Library {
    int cublasCreate_v2(PointerByReference handle);

    int cublasDestroy_v2(Pointer handle);

    int cublasSetStream_v2(Pointer handle, Pointer stream);

    int cublasSetWorkspace_v2(Pointer handle, Pointer workspace, long bytes);

    int cublasGemmEx(Pointer handle, int transa, int transb, int m, int n, int k, Pointer alpha,
        Pointer a, int aType, int lda, Pointer b, int bType, int ldb, Pointer beta, Pointer c,
        int cType, int ldc, int computeType, int algo);
  }

  private static final int OP_N = 0;
  private static final int OP_T = 1;
  private static final int R_32F = 0;
  private static final int R_16BF = 14;
  private static final int COMPUTE_32F = 68;
  private static final int GEMM_DEFAULT = -1;
  private static final long WORKSPACE = 32L << 20;

  private final Lib lib;
  private final Pointer handle;
  private final Memory one = new Memory(4);
  private final Memory zero = new Memory(4);

  Cublas(CudaDevice device) {
    this.lib = load();
    PointerByReference ref = new PointerByReference();
    check(lib.cublasCreate_v2(ref), "cublasCreate");
    this.handle = ref.getValue();
    check(lib.cublasSetStream_v2(handle, new Pointer(CudaDevice.address(device.stream()))),
        "cublasSetStream");
    DeviceBuffer ws = device.alloc(WORKSPACE);
    check(lib.cublasSetWorkspace_v2(handle, new Pointer(ws.address()), WORKSPACE),
        "cublasSetWorkspace");
    one.setFloat(0, 1f);
    zero.setFloat(0, 0f);
  }

  private static Lib load() {
    UnsatisfiedLinkError last = null;
    for (String name : new String[] {"cublas.so.13", "cublas.so.12", "cublas",
        "/usr/local/cuda/lib64/libcublas.so.13", "/usr/local/cuda/lib64/libcublas.so.12"}) {
      try {
        return Native.load(name.startsWith("cublas.so") ? "lib" + name : name, Lib.class);
      } catch (UnsatisfiedLinkError e) {
        last = e;
      }
    }
    throw new IllegalStateException("libcublas (CUDA 12 or 13) not found: install the CUDA"
        + " runtime libraries or add them to LD_LIBRARY_PATH", last);
  }

  /**
   * {@code y (tokens, out) fp32 = x (tokens, in) bf16 . w^T}, with w in nn.Linear layout
   * {@code (out, in)} bf16, all row-major. In cuBLAS's column-major terms: y^T = w^T' x^T.
   */
  void linear(CUdeviceptr x, CUdeviceptr w, CUdeviceptr y, int tokens, int in, int out) {
    linear(x, w, y, tokens, in, out, GEMM_DEFAULT);
  }

  /** {@link #linear} with an explicit cublasGemmAlgo_t (-1 default, 99..115 tensor-op). */
  void linear(CUdeviceptr x, CUdeviceptr w, CUdeviceptr y, int tokens, int in, int out,
      int algo) {
    check(lib.cublasGemmEx(handle, OP_T, OP_N, out, tokens, in, one, ptr(w), R_16BF, in,
        ptr(x), R_16BF, in, zero, ptr(y), R_32F, out, COMPUTE_32F, algo), "GemmEx");
  }

  /** {@link #linear} with y bf16 (fp32 accumulation, rounded once at the end). */
  void linearBf16(CUdeviceptr x, CUdeviceptr w, CUdeviceptr y, int tokens, int in, int out) {
    check(lib.cublasGemmEx(handle, OP_T, OP_N, out, tokens, in, one, ptr(w), R_16BF, in,
        ptr(x), R_16BF, in, zero, ptr(y), R_16BF, out, COMPUTE_32F, GEMM_DEFAULT), "GemmEx");
  }

  private static Pointer ptr(CUdeviceptr p) {
    return new Pointer(CudaDevice.address(p));
  }

  private static void check(int status, String what) {
    if (status != 0) {
      throw new IllegalStateException(what + " failed: cuBLAS status " + status);
    }
  }

  @Override
  public void close() {
    lib.cublasDestroy_v2(handle);
  }
}
