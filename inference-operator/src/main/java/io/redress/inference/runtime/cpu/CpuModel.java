package io.redress.inference.runtime.cpu;

import io.redress.inference.model.ModelConfig;
import io.redress.inference.model.SafeTensors;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;

/**
 * The Qwen2 forward pass in plain Java with fp32 arithmetic: the reference every faster path is
 * tested against, and the fallback where no GPU is usable.
 *
 * <p>Each step comment names the matching line of HF transformers' {@code modeling_qwen2.py},
 * so the two can be read side by side. A step takes any mix of sequences, each with a block of
 * new tokens (a prefill chunk or one decode token); K and V go through a slot mapping into a
 * {@link KvCache} shared by all sequences.
 */
public final class CpuModel {

  private final ModelConfig config;
  private final CpuWeights weights;
  private final Rope rope;

  private CpuModel(ModelConfig config, CpuWeights weights) {
    this.config = config;
    this.weights = weights;
    this.rope = new Rope(config.headDim(), config.ropeTheta());
  }

  /** Loads config.json and the safetensors weights of an HF model directory. */
  public static CpuModel load(Path modelDir) {
    ModelConfig config = ModelConfig.load(modelDir);
    try (SafeTensors st = SafeTensors.open(modelDir)) {
      return new CpuModel(config, CpuWeights.load(config, st,
          io.redress.inference.model.GptqConfig.load(modelDir).orElse(null)));
    }
  }

  /** Builds a model from weights already open (tests, benchmarks). */
  public static CpuModel of(ModelConfig config, SafeTensors st) {
    return new CpuModel(config, CpuWeights.load(config, st));
  }

  public ModelConfig config() {
    return config;
  }

  /** A cache of {@code numSlots} token slots for this model. */
  KvCache newCache(int numSlots) {
    return new KvCache(config, numSlots);
  }

  /**
   * Runs one step.
   *
   * @param tokens {@code (n)} new token ids of all sequences, each sequence's block contiguous
   * @param spans where each sequence's block is and which cache slots its positions use
   * @param cache the KV cache written (new tokens) and read (whole context)
   * @param allLogits logits for every token (teacher forcing) instead of each span's last
   * @return {@code (rows, vocab)}: one row per span, or one per token when {@code allLogits}
   */
  float[] forward(int[] tokens, List<SeqSpan> spans, KvCache cache, boolean allLogits) {
    int n = tokens.length;
    int d = config.hiddenSize();
    int[] positions = new int[n];
    int[] slots = new int[n];
    for (SeqSpan s : spans) {
      for (int i = 0; i < s.numTokens(); i++) {
        positions[s.tokenOffset() + i] = s.startPos() + i;
        slots[s.tokenOffset() + i] = s.slots()[s.startPos() + i];
      }
    }

    // inputs_embeds = self.embed_tokens(input_ids)
    float[] x = new float[n * d];
    for (int t = 0; t < n; t++) {
      if (tokens[t] < 0 || tokens[t] >= config.vocabSize()) {
        throw new IllegalArgumentException("token id " + tokens[t] + " outside the vocabulary"
            + " of " + config.vocabSize());
      }
      weights.embed().row(tokens[t], x, t * d);
    }

    int q = config.qSize();
    int kv = config.kvSize();
    int inter = config.intermediateSize();
    float[] h = new float[n * d];
    float[] qkv = new float[n * (q + 2 * kv)];
    float[] attn = new float[n * q];
    float[] proj = new float[n * d];
    float[] gateUp = new float[n * 2 * inter];
    float[] act = new float[n * inter];
    for (int l = 0; l < config.numLayers(); l++) {
      CpuWeights.Layer layer = weights.layers().get(l);
      // hidden_states = self.input_layernorm(hidden_states)
      rmsNorm(x, layer.inputNorm(), n, h);
      // q, k, v = q_proj(h), k_proj(h), v_proj(h)   (one stacked matrix, biases included)
      layer.qkv().apply(h, n, qkv);
      // apply_rotary_pos_emb(q, k, cos, sin); past_key_value.update(k, v)
      rope.apply(qkv, n, q + 2 * kv, 0, config.numHeads(), positions);
      rope.apply(qkv, n, q + 2 * kv, q, config.numKvHeads(), positions);
      writeCache(qkv, n, slots, cache, l);
      // attn_output = softmax(q k^T / sqrt(head_dim) + causal mask) v
      attention(qkv, spans, cache, l, attn);
      // hidden_states = residual + o_proj(attn_output)
      layer.o().apply(attn, n, proj);
      addInPlace(x, proj);
      // hidden_states = residual + mlp(post_attention_layernorm(hidden_states))
      rmsNorm(x, layer.postNorm(), n, h);
      layer.gateUp().apply(h, n, gateUp);
      siluAndMul(gateUp, n, inter, act);
      layer.down().apply(act, n, proj);
      addInPlace(x, proj);
    }

    // hidden_states = self.norm(hidden_states); logits = lm_head(hidden_states)
    int rows = allLogits ? n : spans.size();
    float[] last = new float[rows * d];
    if (allLogits) {
      System.arraycopy(x, 0, last, 0, n * d);
    } else {
      for (int s = 0; s < spans.size(); s++) {
        SeqSpan span = spans.get(s);
        System.arraycopy(x, (span.tokenOffset() + span.numTokens() - 1) * d, last, s * d, d);
      }
    }
    float[] normed = new float[rows * d];
    rmsNorm(last, weights.finalNorm(), rows, normed);
    float[] logits = new float[rows * config.vocabSize()];
    weights.lmHead().apply(normed, rows, logits);
    return logits;
  }

  /** Qwen2RMSNorm: {@code w * x / sqrt(mean(x^2) + eps)}, statistics in fp32 as HF does. */
  private void rmsNorm(float[] x, float[] w, int n, float[] out) {
    int d = config.hiddenSize();
    float eps = (float) config.rmsNormEps();
    for (int t = 0; t < n; t++) {
      int base = t * d;
      float sumSq = 0f;
      for (int i = 0; i < d; i++) {
        sumSq += x[base + i] * x[base + i];
      }
      float inv = (float) (1.0 / Math.sqrt(sumSq / d + eps));
      for (int i = 0; i < d; i++) {
        out[base + i] = w[i] * (x[base + i] * inv);
      }
    }
  }

  private void writeCache(float[] qkv, int n, int[] slots, KvCache cache, int layer) {
    int q = config.qSize();
    int kv = config.kvSize();
    int stride = q + 2 * kv;
    for (int t = 0; t < n; t++) {
      System.arraycopy(qkv, t * stride + q, cache.keys[layer], slots[t] * kv, kv);
      System.arraycopy(qkv, t * stride + q + kv, cache.values[layer], slots[t] * kv, kv);
    }
  }

  /**
   * Causal grouped-query attention of each new token over its sequence's cached context. One
   * parallel range over (token, head) for the whole step: a range per sequence would pay the
   * fork-join cost once per sequence, more than a decode token's work.
   */
  private void attention(float[] qkv, List<SeqSpan> spans, KvCache cache, int layer,
      float[] out) {
    int n = 0;
    for (SeqSpan span : spans) {
      n += span.numTokens();
    }
    SeqSpan[] spanOf = new SeqSpan[n];
    for (SeqSpan span : spans) {
      java.util.Arrays.fill(spanOf, span.tokenOffset(), span.tokenOffset() + span.numTokens(),
          span);
    }
    int heads = config.numHeads();
    int hd = config.headDim();
    int kv = config.kvSize();
    int stride = config.qSize() + 2 * kv;
    int group = config.groupSize();
    float scale = (float) (1.0 / Math.sqrt(hd));
    float[] keys = cache.keys[layer];
    float[] values = cache.values[layer];
    IntStream.range(0, n * heads).parallel().forEach(job -> {
      int t = job / heads;
      int head = job % heads;
      SeqSpan span = spanOf[t];
      int len = span.startPos() + (t - span.tokenOffset()) + 1; // causal: positions <= own
      int kvOff = (head / group) * hd;
      float[] p = new float[len];
      VecOps.scores(qkv, t * stride + head * hd, keys, span.slots(), len, kv, kvOff, hd, scale,
          p, new float[VecOps.scoresScratch()]);
      float max = Float.NEGATIVE_INFINITY;
      for (float v : p) {
        max = Math.max(max, v);
      }
      float inv = 1f / VecOps.expShiftSum(p, len, max);
      for (int j = 0; j < len; j++) {
        p[j] *= inv;
      }
      VecOps.weightedSum(p, len, values, span.slots(), kv, kvOff, hd, out,
          t * config.qSize() + head * hd);
    });
  }

  /** {@code silu(gate) * up}: rows of gateUp hold gate in [0, inter) and up in [inter, 2 inter). */
  private static void siluAndMul(float[] gateUp, int n, int inter, float[] out) {
    for (int t = 0; t < n; t++) {
      int g = t * 2 * inter;
      for (int i = 0; i < inter; i++) {
        float gate = gateUp[g + i];
        float silu = gate / (1f + (float) Math.exp(-gate));
        out[t * inter + i] = silu * gateUp[g + inter + i];
      }
    }
  }

  private static void addInPlace(float[] x, float[] y) {
    for (int i = 0; i < x.length; i++) {
      x[i] += y[i];
    }
  }
}
