package io.redress.inference.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A GPTQ checkpoint's quantization, as AutoGPTQ and GPTQModel export it: {@code
 * quantization_config} in config.json (transformers' layout) or a separate {@code
 * quantize_config.json}. Each quantized linear layer {@code <name>} then holds {@code
 * <name>.qweight}, {@code .qzeros}, {@code .scales} and {@code .g_idx} instead of {@code
 * <name>.weight}; embeddings, norms, biases and the LM head stay unquantized.
 *
 * <p>Packing (AutoGPTQ's {@code QuantLinear.pack} in qlinear_cuda_old.py, and its torch
 * dequantization): {@code qweight} int32 {@code (in / 8, out)}, input row {@code 8r + j} of
 * output column c in bits {@code 4j..4j+3} of {@code qweight[r][c]}; {@code qzeros} int32
 * {@code (groups, out / 8)}, column {@code 8c + j} in bits {@code 4j..} of {@code
 * qzeros[g][c]}; {@code scales} fp16 {@code (groups, out)}; {@code g_idx} int32 {@code (in)},
 * the group of each input row (with desc_act a shuffled grouping, else {@code i / group}).
 * {@code W[c][i] = scales[g][c] * (q - (z + zeroOffset))}, g = g_idx[i]: the "gptq" checkpoint
 * format (AutoGPTQ, GPTQModel's default export) stores zero points minus one, so zeroOffset is
 * 1; GPTQModel's internal "gptq_v2" stores them as they are (offset 0).
 *
 * @param bits 4 (the only width supported)
 * @param groupSize input rows per group; -1: one group for the whole row
 * @param descAct act-order quantization (g_idx is not {@code i / groupSize})
 * @param sym symmetric zero points (informational: the stored zeros are used either way)
 * @param zeroOffset 1 for the "gptq" format, 0 for "gptq_v2"
 */
public record GptqConfig(int bits, int groupSize, boolean descAct, boolean sym, int zeroOffset) {

  /** The model directory's GPTQ settings, or empty for an unquantized checkpoint. */
  public static Optional<GptqConfig> load(Path modelDir) {
    Path config = modelDir.resolve("config.json");
    JsonNode q = null;
    Path source = config;
    if (Files.isRegularFile(config)) {
      q = ModelConfig.readJson(config, "").path("quantization_config");
    }
    if (q == null || !q.isObject()) {
      source = modelDir.resolve("quantize_config.json");
      if (!Files.isRegularFile(source)) {
        return Optional.empty();
      }
      q = ModelConfig.readJson(source, "");
    }
    return Optional.of(parse(q, source));
  }

  static GptqConfig parse(JsonNode q, Path source) {
    String method = q.path("quant_method").asText("gptq");
    if (!method.equals("gptq")) {
      throw new ModelLoadException(source + ": quant_method '" + method + "' is not supported;"
          + " Redress loads GPTQ int4 checkpoints (AutoGPTQ / GPTQModel) and unquantized ones");
    }
    int bits = q.path("bits").asInt(0);
    if (bits != 4) {
      throw new ModelLoadException(source + ": GPTQ with " + bits + " bits is not supported;"
          + " only 4-bit GPTQ checkpoints are");
    }
    int group = q.path("group_size").asInt(-1);
    if (group != -1 && (group <= 0 || group % 8 != 0)) {
      throw new ModelLoadException(source + ": GPTQ group_size " + group + " is not supported;"
          + " use -1 or a positive multiple of 8 (32, 64, 128)");
    }
    String format = q.path("checkpoint_format").asText("gptq");
    int offset = switch (format) {
      case "gptq" -> 1;
      case "gptq_v2" -> 0;
      default -> throw new ModelLoadException(source + ": GPTQ checkpoint_format '" + format
          + "' is not supported (gptq, gptq_v2)");
    };
    return new GptqConfig(bits, group, q.path("desc_act").asBoolean(false),
        q.path("sym").asBoolean(true), offset);
  }

  /**
   * Dequantizes one linear layer to fp32, row-major {@code (out, in)} as nn.Linear holds it.
   *
   * @param qweight {@code (in / 8) * out} packed codes, row-major
   * @param qzeros {@code groups * (out / 8)} packed zero points, row-major
   * @param scales {@code groups * out}
   * @param gIdx {@code in} groups, or null for {@code i / groupSize}
   */
  public float[] dequantize(int[] qweight, int[] qzeros, float[] scales, int[] gIdx, int out,
      int in) {
    int groups = scales.length / out;
    float[] w = new float[out * in];
    for (int i = 0; i < in; i++) {
      int g = gIdx != null ? gIdx[i] : groupSize < 0 ? 0 : i / groupSize;
      if (g < 0 || g >= groups) {
        throw new ModelLoadException("GPTQ g_idx[" + i + "] = " + g + " is outside the "
            + groups + " groups of the scales");
      }
      int shift = 4 * (i & 7);
      int packedRow = (i >>> 3) * out;
      for (int c = 0; c < out; c++) {
        int q = (qweight[packedRow + c] >>> shift) & 0xF;
        int z = ((qzeros[g * (out >>> 3) + (c >>> 3)] >>> (4 * (c & 7))) & 0xF) + zeroOffset;
        w[c * in + i] = scales[g * out + c] * (q - z);
      }
    }
    return w;
  }
}
