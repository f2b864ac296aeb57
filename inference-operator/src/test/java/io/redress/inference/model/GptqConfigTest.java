package io.redress.inference.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * GPTQ settings and dequantization against a straightforward reading of AutoGPTQ's packing:
 * codes and zero points packed here nibble by nibble, then unpacked by {@link
 * GptqConfig#dequantize}.
 */
class GptqConfigTest {

  private static GptqConfig parse(String json) throws Exception {
    return GptqConfig.parse(new ObjectMapper().readTree(json), Path.of("config.json"));
  }

  @Test
  void readsTheExportersSettings() throws Exception {
    GptqConfig c = parse("{\"quant_method\":\"gptq\",\"bits\":4,\"group_size\":128,"
        + "\"desc_act\":true,\"sym\":false}");
    assertThat(c).isEqualTo(new GptqConfig(4, 128, true, false, 1));
    assertThat(parse("{\"bits\":4,\"group_size\":-1,\"checkpoint_format\":\"gptq_v2\"}")
        .zeroOffset()).isZero();
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', textBlock = """
      {"quant_method":"awq","bits":4}               | quant_method 'awq'
      {"bits":8,"group_size":128}                    | 8 bits
      {"bits":4,"group_size":100}                    | group_size 100
      {"bits":4,"checkpoint_format":"marlin"}        | checkpoint_format 'marlin'
      """)
  void refusesWhatItCannotLoad(String json, String message) {
    assertThatThrownBy(() -> parse(json)).isInstanceOf(ModelLoadException.class)
        .hasMessageContaining(message);
  }

  @ParameterizedTest
  @CsvSource({"1, 16, true", "0, 8, false", "1, -1, false"})
  void dequantizesPackedCodes(int zeroOffset, int group, boolean shuffledGroups) {
    int in = 32;
    int out = 16;
    int groups = group < 0 ? 1 : in / group;
    Random rnd = new Random(7);
    int[][] codes = new int[in][out];
    int[][] zeros = new int[groups][out]; // as stored
    float[] scales = new float[groups * out];
    int[] gIdx = new int[in];
    for (int i = 0; i < in; i++) {
      gIdx[i] = shuffledGroups ? rnd.nextInt(groups) : group < 0 ? 0 : i / group;
      for (int c = 0; c < out; c++) {
        codes[i][c] = rnd.nextInt(16);
      }
    }
    for (int g = 0; g < groups; g++) {
      for (int c = 0; c < out; c++) {
        zeros[g][c] = rnd.nextInt(15);
        scales[g * out + c] = 0.01f * (1 + rnd.nextInt(9));
      }
    }
    int[] qweight = new int[in / 8 * out];
    for (int i = 0; i < in; i++) {
      for (int c = 0; c < out; c++) {
        qweight[(i / 8) * out + c] |= codes[i][c] << (4 * (i % 8));
      }
    }
    int[] qzeros = new int[groups * out / 8];
    for (int g = 0; g < groups; g++) {
      for (int c = 0; c < out; c++) {
        qzeros[g * (out / 8) + c / 8] |= zeros[g][c] << (4 * (c % 8));
      }
    }
    GptqConfig cfg = new GptqConfig(4, group, shuffledGroups, false, zeroOffset);
    float[] w = cfg.dequantize(qweight, qzeros, scales, shuffledGroups ? gIdx : null, out, in);
    for (int c = 0; c < out; c++) {
      for (int i = 0; i < in; i++) {
        int g = gIdx[i];
        float expected = scales[g * out + c] * (codes[i][c] - (zeros[g][c] + zeroOffset));
        assertThat(w[c * in + i]).as("w[%d][%d]", c, i).isEqualTo(expected);
      }
    }
  }
}
