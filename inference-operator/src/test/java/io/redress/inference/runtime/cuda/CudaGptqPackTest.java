package io.redress.inference.runtime.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.redress.inference.model.GptqConfig;
import io.redress.inference.model.ModelLoadException;
import io.redress.inference.model.SafeTensors;
import io.redress.inference.model.WeightNames;
import io.redress.inference.testing.Fixtures;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The host-side repacking of GPTQ layers for the CUDA runner (no GPU needed): the packed
 * layout, read back as the kernels read it, gives exactly the CPU runner's dequantized weights,
 * for stacked parts with their own or shared act-order permutations and every group size; the
 * layout is a bijection; malformed g_idx and shapes the kernel cannot tile are refused with a
 * clear error.
 */
class CudaGptqPackTest {

  /** Random GPTQ tensors of one projection (out, k); act-order with a shuffled g_idx. */
  static CudaWeights.GptqTensors random(Random rnd, int out, int k, int group, boolean actOrder,
      int[] order) {
    int g = group < 0 ? k : group;
    int groups = (k + g - 1) / g;
    int[] qweight = new int[k / 8 * out];
    for (int i = 0; i < qweight.length; i++) {
      qweight[i] = rnd.nextInt();
    }
    int[] qzeros = new int[groups * out / 8];
    for (int i = 0; i < qzeros.length; i++) {
      qzeros[i] = rnd.nextInt();
    }
    float[] scales = new float[groups * out];
    for (int i = 0; i < scales.length; i++) {
      // fp16 values, as checkpoints hold them
      scales[i] = SafeTensors.f16ToFloat(io.redress.inference.model.SafeTensorsWriter
          .floatToF16(0.005f + 0.02f * rnd.nextFloat()));
    }
    int[] gIdx = new int[k];
    for (int j = 0; j < k; j++) {
      gIdx[actOrder ? order[j] : j] = j / g;
    }
    return new CudaWeights.GptqTensors(qweight, qzeros, scales, gIdx, out);
  }

  static int[] shuffled(Random rnd, int k) {
    List<Integer> l = new ArrayList<>();
    for (int i = 0; i < k; i++) {
      l.add(i);
    }
    java.util.Collections.shuffle(l, rnd);
    return l.stream().mapToInt(Integer::intValue).toArray();
  }

  static void assertMatchesCpu(GptqConfig gptq, CudaWeights.Packed p,
      List<CudaWeights.GptqTensors> parts, int k) {
    int row0 = 0;
    for (CudaWeights.GptqTensors t : parts) {
      float[] w = gptq.dequantize(t.qweight(), t.qzeros(), t.scales(), t.gIdx(), t.out(), k);
      for (int c = 0; c < t.out(); c++) {
        for (int i = 0; i < k; i++) {
          if (p.weight(row0 + c, i) != w[c * k + i]) {
            assertThat(p.weight(row0 + c, i)).as("row %d input %d", row0 + c, i)
                .isEqualTo(w[c * k + i]);
          }
        }
      }
      row0 += t.out();
    }
  }

  @ParameterizedTest
  @CsvSource({"32, true, false", "32, true, true", "128, true, false", "-1, false, false",
      "32, false, false", "64, true, false"})
  void packedLayoutDequantizesLikeTheCpu(int group, boolean actOrder, boolean sharedOrder) {
    Random rnd = new Random(group * 31L + (actOrder ? 1 : 0));
    int k = 256;
    GptqConfig gptq = new GptqConfig(4, group, actOrder, false, 1);
    int[] order = shuffled(rnd, k);
    List<CudaWeights.GptqTensors> parts = new ArrayList<>();
    for (int out : new int[] {64, 16, 32}) {
      parts.add(random(rnd, out, k, group, actOrder, sharedOrder ? order : shuffled(rnd, k)));
    }
    CudaWeights.Packed p = CudaWeights.pack(gptq, "test", parts, k);
    assertMatchesCpu(gptq, p, parts, k);
    assertThat(p.group()).isEqualTo(group < 0 ? k : group);
    if (!actOrder) {
      assertThat(p.perm()).isNull();
      assertThat(p.parts()).isEqualTo(1);
    } else if (sharedOrder) {
      assertThat(p.parts()).isEqualTo(1);
      assertThat(p.bound1()).isEqualTo(Integer.MAX_VALUE);
    } else {
      assertThat(p.parts()).isEqualTo(3);
      assertThat(p.bound1()).isEqualTo(64);
      assertThat(p.bound2()).isEqualTo(80);
    }
  }

  @Test
  void fixtureLayersDequantizeLikeTheCpu() {
    var dir = Fixtures.modelDir("qwen2-small-gptq");
    GptqConfig gptq = GptqConfig.load(dir).orElseThrow();
    try (SafeTensors st = SafeTensors.open(dir)) {
      int k = 256;
      List<CudaWeights.GptqTensors> parts = new ArrayList<>();
      for (String name : new String[] {"self_attn.q_proj", "self_attn.k_proj",
          "self_attn.v_proj"}) {
        String prefix = WeightNames.layer(1, name);
        int out = (int) st.info(prefix + ".scales").shape()[1];
        int groups = k / gptq.groupSize();
        parts.add(new CudaWeights.GptqTensors(st.ints(prefix + ".qweight", k / 8, out),
            st.ints(prefix + ".qzeros", groups, out / 8),
            st.floats(prefix + ".scales", groups, out), st.ints(prefix + ".g_idx", k), out));
      }
      CudaWeights.Packed p = CudaWeights.pack(gptq, "fixture", parts, k);
      assertThat(p.perm()).isNotNull();
      assertMatchesCpu(gptq, p, parts, k);
    }
  }

  @Test
  void everyRowAndInputHasItsOwnNibble() {
    int rows = 48;
    int k = 192;
    java.util.Set<Long> seen = new java.util.HashSet<>();
    for (int r = 0; r < rows; r++) {
      for (int i = 0; i < k; i++) {
        int word = CudaWeights.codeWord(r, i, k);
        assertThat(word).isBetween(0, rows * k / 8 - 1);
        assertThat(seen.add(word * 8L + CudaWeights.codeShift(r, i) / 4)).isTrue();
      }
    }
  }

  @ParameterizedTest(name = "{3}")
  @CsvSource({"8, 256, 32, 'output rows in multiples of 16'", "16, 264, 8, 'inputs in multiples"
      + " of 64'", "16, 256, 16, 'group_size a multiple of 32'"})
  void shapesTheKernelCannotTileAreRefusedClearly(int out, int k, int group, String why) {
    Random rnd = new Random(3);
    GptqConfig gptq = new GptqConfig(4, group, false, false, 1);
    CudaWeights.GptqTensors t = random(rnd, out, k, group, false, null);
    assertThatThrownBy(() -> CudaWeights.pack(gptq, "model.layers.3.mlp.up_proj", List.of(t),
        k))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("model.layers.3.mlp.up_proj")
        .hasMessageContaining("--device cpu");
  }

  @Test
  void unevenGroupsAreRefusedClearly() {
    Random rnd = new Random(7);
    int k = 64;
    GptqConfig gptq = new GptqConfig(4, 32, true, false, 1);
    CudaWeights.GptqTensors t = random(rnd, 16, k, 32, true, shuffled(rnd, k));
    int[] gIdx = t.gIdx().clone();
    // Group 0 gets 33 inputs, group 1 31: a valid CPU dequantization, not a contiguous layout.
    for (int i = 0; i < k; i++) {
      if (gIdx[i] == 1) {
        gIdx[i] = 0;
        break;
      }
    }
    CudaWeights.GptqTensors bad = new CudaWeights.GptqTensors(t.qweight(), t.qzeros(),
        t.scales(), gIdx, t.out());
    assertThatThrownBy(() -> CudaWeights.pack(gptq, "model.layers.0.mlp.down_proj",
        List.of(bad), k))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("model.layers.0.mlp.down_proj")
        .hasMessageContaining("--device cpu");
    int[] outside = t.gIdx().clone();
    outside[3] = 9;
    assertThatThrownBy(() -> CudaWeights.pack(gptq, "x", List.of(new CudaWeights.GptqTensors(
        t.qweight(), t.qzeros(), t.scales(), outside, t.out())), k))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("outside the 2 groups");
  }
}
