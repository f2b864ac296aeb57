package io.redress.inference.runtime.cuda;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import jcuda.driver.CUresult;

/**
 * Tensor maps (CUtensorMap, 128 bytes) for the bulk tensor copies of w4a16_wgmma_ws.cu and of
 * the many-token kernels' _tma twins in w4a16_fused.cu, which copy a box of several rows of a
 * 2D array in one instruction where bulk copies take one a row.
 * JCuda 12.6 does not bind {@code cuTensorMapEncodeTiled}, so it is bound here through JNA
 * straight from libcuda, as {@link PdlLauncher} binds its launch. A map holds the array's device
 * address and shape only, so it may be encoded on any thread and passed by value as a kernel
 * parameter (16 words of {@link Kernels}' launch arguments). Not for concurrent use.
 */
final class TensorMaps {

  /** CUtensorMapDataType UINT32 (cuda.h); interleave, swizzle, L2 promotion, fill: all 0, none. */
  private static final int UINT32 = 2;
  /** CUtensorMapDataType UINT16 and CU_TENSOR_MAP_SWIZZLE_128B (cuda.h). */
  private static final int UINT16 = 1;
  private static final int SWIZZLE_128B = 3;
  static final int MAP_WORDS = 16;

  private static final class Driver {
    static final boolean LOADED = LibCuda.register(Driver.class);

    static native int cuTensorMapEncodeTiled(Pointer map, int dataType, int rank, Pointer global,
        Pointer dims, Pointer strides, Pointer box, Pointer elementStrides, int interleave,
        int swizzle, int l2Promotion, int oobFill);
  }

  // the map (64-byte aligned), then dims (2 x 8), strides (8), box (2 x 4), element strides
  private final Memory block = new Memory(128 + 64 + 48);
  private final Pointer map = block.align(64);
  private final Pointer args = map.share(128);

  /** Whether libcuda's encoder is at hand (else the kernels that need maps are not used). */
  static boolean available() {
    return Driver.LOADED;
  }

  /**
   * The map of {@code rows} rows of {@code elems} 4-byte elements each, contiguous, at device
   * address {@code base} (16-byte aligned, rows a multiple of 16 bytes), copied in boxes of
   * {@code box} elements by {@code boxRows} rows: its 16 words.
   */
  long[] uint32Rows(long base, long elems, long rows, int box, int boxRows) {
    args.setLong(0, elems);
    args.setLong(8, rows);
    args.setLong(16, 4 * elems);
    args.setInt(24, box);
    args.setInt(28, boxRows);
    args.setInt(32, 1);
    args.setInt(36, 1);
    int rc = Driver.cuTensorMapEncodeTiled(map, UINT32, 2, new Pointer(base), args,
        args.share(16), args.share(24), args.share(32), 0, 0, 0, 0);
    if (rc != CUresult.CUDA_SUCCESS) {
      throw new IllegalStateException("cuTensorMapEncodeTiled failed for " + rows + " x " + elems
          + " elements, box " + box + " x " + boxRows + ": " + CUresult.stringFor(rc));
    }
    return map.getLongArray(0, MAP_WORDS);
  }

  /**
   * The map of the many-token W4 kernels' activations (W4MTma in w4a16_fused.cu): {@code x
   * (tokens, k)} bf16 at {@code base}, copied in boxes of 64 inputs by {@code tokens} rows (one
   * input pair of every token: none outside the map, whose zero fill is slow) with the 128-byte
   * swizzle. Its 16 words.
   */
  long[] activationPairs(long base, int tokens, int k) {
    args.setLong(0, k);
    args.setLong(8, tokens);
    args.setLong(16, 2L * k);
    args.setInt(24, 64);
    args.setInt(28, tokens);
    args.setInt(32, 1);
    args.setInt(36, 1);
    int rc = Driver.cuTensorMapEncodeTiled(map, UINT16, 2, new Pointer(base), args,
        args.share(16), args.share(24), args.share(32), 0, SWIZZLE_128B, 0, 0);
    if (rc != CUresult.CUDA_SUCCESS) {
      throw new IllegalStateException("cuTensorMapEncodeTiled failed for the activations of "
          + tokens + " tokens x " + k + " inputs: " + CUresult.stringFor(rc));
    }
    return map.getLongArray(0, MAP_WORDS);
  }
}
