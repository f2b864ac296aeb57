package io.redress.inference.runtime.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.model.SafeTensors;
import io.redress.inference.model.SafeTensorsWriter;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The SiLU-and-mul kernels (activation.cu) against the CPU. */
@Tag("gpu")
class ActivationGpuTest extends KernelGpuTest {

  /**
   * A step of more tokens than a grid's y dimension holds (maxNumBatchedTokens 65,536 and up
   * failed the launch): every row is written, each within a bf16 ulp of silu(gate) * up in
   * double precision, over bf16 and fp32 inputs.
   */
  @Test
  void siluMulCoversMoreRowsThanAGridDimensionHolds() {
    int tokens = Kernels.MAX_GRID_Y + 4_465;
    int inter = 40;
    Random r = new Random(3);
    float[] gateUp = new float[tokens * 2 * inter];
    short[] gateUpBf16 = new short[gateUp.length];
    for (int i = 0; i < gateUp.length; i++) {
      gateUpBf16[i] = SafeTensorsWriter.floatToBf16((float) (2 * r.nextGaussian()));
      gateUp[i] = SafeTensors.bf16ToFloat(gateUpBf16[i]);
    }
    short[] unwritten = new short[tokens * inter];
    Arrays.fill(unwritten, (short) 0x7FC1); // a NaN no product gives
    for (boolean bf16In : new boolean[] {true, false}) {
      DeviceBuffer out = shorts(unwritten);
      if (bf16In) {
        kernels.siluMulBf16In(shorts(gateUpBf16).ptr(), out.ptr(), inter, tokens);
      } else {
        kernels.siluMul(floats(gateUp).ptr(), out.ptr(), inter, tokens);
      }
      short[] got = downloadShorts(out, tokens * inter);
      for (int t = 0; t < tokens; t++) {
        for (int i = 0; i < inter; i++) {
          double gate = gateUp[t * 2 * inter + i];
          double up = gateUp[t * 2 * inter + inter + i];
          double want = gate / (1 + Math.exp(-gate)) * up;
          float have = SafeTensors.bf16ToFloat(got[t * inter + i]);
          assertThat((double) have).as("%s input, token %d, column %d",
              bf16In ? "bf16" : "fp32", t, i).isCloseTo(want,
              org.assertj.core.data.Offset.offset(Math.abs(want) * 0x1p-7 + 1e-30));
        }
      }
    }
  }
}
