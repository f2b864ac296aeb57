package io.redress.inference.runtime.cuda;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;

/**
 * Direct-mapped JNA bindings of libcuda's entry points that JCuda 12.6 lacks ({@link
 * PdlLauncher}, {@link TensorMaps}): the same library JCuda drives, so the same context is
 * current.
 */
final class LibCuda {

  private LibCuda() {}

  /** Registers {@code bindings}' native methods against libcuda; false where none loads. */
  static boolean register(Class<?> bindings) {
    for (String name : new String[] {"cuda", "libcuda.so.1"}) {
      try {
        Native.register(bindings, NativeLibrary.getInstance(name));
        return true;
      } catch (UnsatisfiedLinkError e) {
        // the next name; without any, the caller goes without
      }
    }
    return false;
  }
}
