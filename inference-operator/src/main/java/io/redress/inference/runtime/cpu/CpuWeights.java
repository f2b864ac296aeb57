package io.redress.inference.runtime.cpu;

import io.redress.inference.model.GptqConfig;
import io.redress.inference.model.ModelConfig;
import io.redress.inference.model.SafeTensors;
import io.redress.inference.model.WeightNames;
import java.util.ArrayList;
import java.util.List;

/**
 * A Qwen2 model's weights as fp32 arrays, every shape checked against the config on load.
 * Q, K and V are stacked into one matrix and gate and up into another, so a layer makes four
 * passes over its weights instead of seven.
 *
 * @param embed {@code (vocab, hidden)} token embeddings as a matrix (rows are looked up), the
 *     LM head itself when tied: one copy of the largest tensor
 * @param layers decoder layers
 * @param finalNorm {@code (hidden)} RMSNorm weight before the LM head
 * @param lmHead {@code (vocab, hidden)}; the embedding matrix itself when tied
 */
record CpuWeights(Matrix embed, List<Layer> layers, float[] finalNorm, Matrix lmHead) {

  /**
   * One decoder layer.
   *
   * @param inputNorm {@code (hidden)} RMSNorm before attention
   * @param qkv {@code (qSize + 2 * kvSize, hidden)} with bias: rows [0, q) are Q, then K, V
   * @param o {@code (hidden, qSize)} without bias
   * @param postNorm {@code (hidden)} RMSNorm before the MLP
   * @param gateUp {@code (2 * intermediate, hidden)}: gate rows then up rows
   * @param down {@code (hidden, intermediate)}
   */
  record Layer(float[] inputNorm, Matrix qkv, Matrix o, float[] postNorm, Matrix gateUp,
      Matrix down) {}

  static CpuWeights load(ModelConfig c, SafeTensors st) {
    return load(c, st, null);
  }

  /**
   * @param gptq the checkpoint's GPTQ settings, null when unquantized: quantized layers are
   *     dequantized to fp32 once here (the CPU runner computes in fp32 anyway)
   */
  static CpuWeights load(ModelConfig c, SafeTensors st, GptqConfig gptq) {
    int d = c.hiddenSize();
    Matrix embed = Matrix.ofRowMajor(st.floats(WeightNames.EMBED, c.vocabSize(), d), null,
        c.vocabSize(), d);
    List<Layer> layers = new ArrayList<>();
    for (int i = 0; i < c.numLayers(); i++) {
      Matrix q = linear(st, gptq, i, "self_attn.q_proj", c.qSize(), d, true);
      Matrix k = linear(st, gptq, i, "self_attn.k_proj", c.kvSize(), d, true);
      Matrix v = linear(st, gptq, i, "self_attn.v_proj", c.kvSize(), d, true);
      Matrix gate = linear(st, gptq, i, "mlp.gate_proj", c.intermediateSize(), d, false);
      Matrix up = linear(st, gptq, i, "mlp.up_proj", c.intermediateSize(), d, false);
      layers.add(new Layer(
          st.floats(WeightNames.layer(i, "input_layernorm.weight"), d),
          Matrix.concatRows(q, k, v),
          linear(st, gptq, i, "self_attn.o_proj", d, c.qSize(), false),
          st.floats(WeightNames.layer(i, "post_attention_layernorm.weight"), d),
          Matrix.concatRows(gate, up),
          linear(st, gptq, i, "mlp.down_proj", d, c.intermediateSize(), false)));
    }
    float[] finalNorm = st.floats(WeightNames.FINAL_NORM, d);
    // Tied checkpoints usually omit lm_head.weight; when present we still honour the config.
    Matrix lmHead = c.tieWordEmbeddings()
        ? embed
        : Matrix.ofRowMajor(st.floats(WeightNames.LM_HEAD, c.vocabSize(), d), null,
            c.vocabSize(), d);
    return new CpuWeights(embed, List.copyOf(layers), finalNorm, lmHead);
  }

  private static Matrix linear(SafeTensors st, GptqConfig gptq, int layer, String name,
      int rows, int cols, boolean bias) {
    String prefix = WeightNames.layer(layer, name);
    float[] w = gptq != null && st.contains(prefix + ".qweight")
        ? dequantized(st, gptq, prefix, rows, cols)
        : st.floats(prefix + ".weight", rows, cols);
    float[] b = bias ? st.floats(WeightNames.layer(layer, name + ".bias"), rows) : null;
    return Matrix.ofRowMajor(w, b, rows, cols);
  }

  /** A GPTQ layer {@code (rows = out, cols = in)} as fp32, from its packed tensors. */
  private static float[] dequantized(SafeTensors st, GptqConfig gptq, String prefix, int out,
      int in) {
    if (in % 8 != 0 || out % 8 != 0) {
      throw new io.redress.inference.model.ModelLoadException(prefix + ": GPTQ packs 8 values"
          + " per int32, so both dimensions must be multiples of 8 (" + out + " x " + in + ")");
    }
    int groups = gptq.groupSize() < 0 ? 1 : (in + gptq.groupSize() - 1) / gptq.groupSize();
    int[] qweight = st.ints(prefix + ".qweight", in / 8, out);
    int[] qzeros = st.ints(prefix + ".qzeros", groups, out / 8);
    float[] scales = st.floats(prefix + ".scales", groups, out);
    int[] gIdx = st.contains(prefix + ".g_idx") ? st.ints(prefix + ".g_idx", in) : null;
    return gptq.dequantize(qweight, qzeros, scales, gIdx, out, in);
  }
}
