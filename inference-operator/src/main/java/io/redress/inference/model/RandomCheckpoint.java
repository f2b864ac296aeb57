package io.redress.inference.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Writes a Qwen2 model directory (config.json + model.safetensors, bf16) with random weights,
 * for benchmarks at real model shapes and for tests. No tokenizer: such models are driven by
 * token ids.
 */
public final class RandomCheckpoint {

  private RandomCheckpoint() {}

  /** The Qwen2.5-0.5B(-Instruct) architecture. */
  public static ModelConfig qwen25_05b() {
    return KnownConfigs.get("qwen2.5-0.5b");
  }

  /** Writes {@code config} with weights drawn from a seeded normal distribution. */
  public static void write(ModelConfig c, Path dir, long seed) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("config.json"), configJson(c));
    SplittableRandom random = new SplittableRandom(seed);
    int d = c.hiddenSize();
    SafeTensorsWriter w = new SafeTensorsWriter();
    w.add(WeightNames.EMBED, DType.BF16, normal(random, (long) c.vocabSize() * d, 0.5f),
        c.vocabSize(), d);
    for (int i = 0; i < c.numLayers(); i++) {
      w.add(WeightNames.layer(i, "input_layernorm.weight"), DType.BF16,
          around(random, d, 1f, 0.1f), d);
      linear(w, random, i, "self_attn.q_proj", c.qSize(), d, true);
      linear(w, random, i, "self_attn.k_proj", c.kvSize(), d, true);
      linear(w, random, i, "self_attn.v_proj", c.kvSize(), d, true);
      linear(w, random, i, "self_attn.o_proj", d, c.qSize(), false);
      w.add(WeightNames.layer(i, "post_attention_layernorm.weight"), DType.BF16,
          around(random, d, 1f, 0.1f), d);
      linear(w, random, i, "mlp.gate_proj", c.intermediateSize(), d, false);
      linear(w, random, i, "mlp.up_proj", c.intermediateSize(), d, false);
      linear(w, random, i, "mlp.down_proj", d, c.intermediateSize(), false);
    }
    w.add(WeightNames.FINAL_NORM, DType.BF16, around(random, d, 1f, 0.1f), d);
    if (!c.tieWordEmbeddings()) {
      w.add(WeightNames.LM_HEAD, DType.BF16, normal(random, (long) c.vocabSize() * d, 0.5f),
          c.vocabSize(), d);
    }
    w.write(dir.resolve("model.safetensors"));
  }

  /** The config.json text for {@code c}, in the Qwen2.5 style (top-level rope_theta). */
  public static String configJson(ModelConfig c) {
    ObjectNode n = new ObjectMapper().createObjectNode();
    n.putArray("architectures").add("Qwen2ForCausalLM");
    n.put("model_type", "qwen2");
    n.put("hidden_size", c.hiddenSize());
    n.put("intermediate_size", c.intermediateSize());
    n.put("num_hidden_layers", c.numLayers());
    n.put("num_attention_heads", c.numHeads());
    n.put("num_key_value_heads", c.numKvHeads());
    n.put("vocab_size", c.vocabSize());
    n.put("max_position_embeddings", c.maxPositions());
    n.put("rope_theta", c.ropeTheta());
    n.put("rms_norm_eps", c.rmsNormEps());
    n.put("tie_word_embeddings", c.tieWordEmbeddings());
    n.put("torch_dtype", c.dtype());
    n.put("use_sliding_window", false);
    n.put("hidden_act", "silu");
    var eos = n.putArray("eos_token_id");
    c.eosTokenIds().forEach(eos::add);
    if (c.headDim() * c.numHeads() != c.hiddenSize()) {
      n.put("head_dim", c.headDim());
    }
    return n.toPrettyString();
  }

  private static void linear(SafeTensorsWriter w, SplittableRandom r, int layer, String name,
      int rows, int cols, boolean bias) {
    float std = (float) (1.0 / Math.sqrt(cols));
    w.add(WeightNames.layer(layer, name + ".weight"), DType.BF16,
        normal(r, (long) rows * cols, std), rows, cols);
    if (bias) {
      w.add(WeightNames.layer(layer, name + ".bias"), DType.BF16, normal(r, rows, 0.1f), rows);
    }
  }

  private static float[] around(SplittableRandom r, int n, float mean, float std) {
    float[] v = normal(r, n, std);
    for (int i = 0; i < n; i++) {
      v[i] += mean;
    }
    return v;
  }

  private static float[] normal(SplittableRandom r, long n, float std) {
    float[] v = new float[Math.toIntExact(n)];
    for (int i = 0; i < v.length; i += 2) {
      // Box-Muller: two normals per pair of uniforms.
      double u1 = 1.0 - r.nextDouble();
      double u2 = r.nextDouble();
      double radius = Math.sqrt(-2 * Math.log(u1)) * std;
      v[i] = (float) (radius * Math.cos(2 * Math.PI * u2));
      if (i + 1 < v.length) {
        v[i + 1] = (float) (radius * Math.sin(2 * Math.PI * u2));
      }
    }
    return v;
  }
}
