package io.redress.inference.testing;

import io.redress.inference.runtime.cuda.CudaDevice;
import org.junit.jupiter.api.Assumptions;

/** Skips a GPU test where no GPU (or no kernels build) is usable, saying why. */
public final class Gpu {

  private Gpu() {}

  public static void assumeUsable() {
    CudaDevice.Availability a = CudaDevice.probe(0);
    Assumptions.assumeTrue(a.usable(), "GPU test skipped: " + a.reason());
  }

  /** Skips unless {@code n} GPUs are usable (multi-GPU tests). */
  public static void assumeGpus(int n) {
    assumeUsable();
    CudaDevice.Availability a = CudaDevice.probe(n - 1);
    Assumptions.assumeTrue(a.usable(), "needs " + n + " GPUs: " + a.reason());
  }
}
