package io.redress.inference.runtime.cuda;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import jcuda.driver.CUresult;

/**
 * Kernel launches with programmatic dependent launch (PDL, compute capability 9.0 and later):
 * a kernel may start while the one before it in the stream finishes, streaming its weights in
 * before it waits for that kernel ({@code pdl_wait} in common.cuh, which every kernel calls).
 * In a stream being captured the launches become programmatic graph edges, so the decode graphs
 * keep the overlap. JCuda 12.6 does not bind {@code cuLaunchKernelEx}, so it is bound here
 * through JNA straight from libcuda (the library JCuda drives, so the same context is current).
 * Arguments are as {@link Kernels} builds them: one array of 64-bit little-endian words per
 * kernel parameter (a 4-byte scalar in the low half of one word, a struct in several).
 * Not for concurrent use: one thread launches on a stream.
 */
final class PdlLauncher {

  /** CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION (cuda.h). */
  private static final int ATTR_PROGRAMMATIC_STREAM_SERIALIZATION = 6;
  /** CUlaunchConfig: 7 unsigned ints, then CUstream at 32, attrs at 40, numAttrs at 48. */
  private static final int CONFIG_BYTES = 56;
  /** CUlaunchAttribute: the id (4 bytes), padding to 8, a 64-byte value union. */
  private static final int ATTR_BYTES = 72;
  private static final int PARAMS_AT = CONFIG_BYTES + ATTR_BYTES;
  /**
   * The reused launch block: room for every kernel's arguments, layers_bf16's by-value LwArgs
   * (4.7 KB) included, so no launch allocates one of its own.
   */
  private static final int SCRATCH_BYTES = 8192;

  /** libcuda's cuLaunchKernelEx, direct-mapped (a launch costs no reflection). */
  private static final class Driver {
    static final boolean LOADED = LibCuda.register(Driver.class);

    static native int cuLaunchKernelEx(Pointer config, Pointer f, Pointer kernelParams,
        Pointer extra);
  }

  private final long stream;
  private final Memory scratch = withAttribute(SCRATCH_BYTES);

  private PdlLauncher(long stream) {
    this.stream = stream;
  }

  /**
   * A launcher on {@code stream}, or null where PDL is off: a GPU before compute capability 9.0,
   * no libcuda with cuLaunchKernelEx for JNA, or {@code -Dredress.cuda.pdl=false} (which turns
   * it off to compare).
   */
  static PdlLauncher create(long stream, int computeMajor) {
    if (computeMajor < 9 || !Boolean.parseBoolean(System.getProperty("redress.cuda.pdl", "true"))
        || !Driver.LOADED) {
      return null;
    }
    return new PdlLauncher(stream);
  }

  void launch(long function, int gx, int gy, int gz, int block, int smem, long[]... args) {
    int words = 0;
    for (long[] a : args) {
      words += a.length;
    }
    long valuesAt = PARAMS_AT + 8L * args.length;
    long bytes = valuesAt + 8L * words;
    Memory m = bytes <= SCRATCH_BYTES ? scratch : withAttribute(bytes);
    long base = Pointer.nativeValue(m);
    m.setInt(0, gx);
    m.setInt(4, gy);
    m.setInt(8, gz);
    m.setInt(12, block);
    m.setInt(16, 1);
    m.setInt(20, 1);
    m.setInt(24, smem);
    m.setLong(32, stream);
    m.setLong(40, base + CONFIG_BYTES);
    m.setInt(48, 1);
    long at = valuesAt;
    for (int i = 0; i < args.length; i++) {
      m.setLong(PARAMS_AT + 8L * i, base + at);
      for (long w : args[i]) {
        m.setLong(at, w);
        at += 8;
      }
    }
    int rc = Driver.cuLaunchKernelEx(m, new Pointer(function), m.share(PARAMS_AT), null);
    if (rc != CUresult.CUDA_SUCCESS) {
      throw new IllegalStateException("cuLaunchKernelEx failed: " + CUresult.stringFor(rc));
    }
  }

  /**
   * A launch block (config, the one attribute, parameter pointers, values) with the attribute
   * set; the scratch block, or a one-off for arguments that outgrow it.
   */
  private static Memory withAttribute(long bytes) {
    Memory m = new Memory(bytes);
    m.clear();
    m.setInt(CONFIG_BYTES, ATTR_PROGRAMMATIC_STREAM_SERIALIZATION);
    m.setInt(CONFIG_BYTES + 8, 1); // programmaticStreamSerializationAllowed
    return m;
  }
}
