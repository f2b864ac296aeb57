package io.redress.inference.runtime.cuda;

import jcuda.driver.CUdeviceptr;

/**
 * A device allocation: the JCuda pointer, its size and raw address.
 *
 * @param ptr for JCuda calls
 * @param bytes size
 * @param address raw device address (for cuBLAS through JNA)
 */
public record DeviceBuffer(CUdeviceptr ptr, long bytes, long address) {

  /** A pointer {@code offset} bytes into this buffer. */
  public CUdeviceptr at(long offset) {
    if (offset < 0 || offset > bytes) {
      throw new IndexOutOfBoundsException(offset + " outside " + bytes + " bytes");
    }
    return ptr.withByteOffset(offset);
  }
}
