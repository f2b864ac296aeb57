package io.redress.inference.runtime.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.redress.inference.model.KnownConfigs;
import io.redress.inference.model.ModelConfig;
import io.redress.inference.runtime.cuda.Shard.Slice;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Tensor-parallel sharding on the CPU: the slices each rank loads (the same {@link Shard}
 * methods the GPU weights use), run through a plain decoder layer per rank, give partial sums
 * that add up to the whole layer's output; with KV heads replicated where ranks outnumber them.
 */
class ShardTest {

  private static ModelConfig config(int heads, int kvHeads, int headDim, int inter) {
    return new ModelConfig(24, inter, 1, heads, kvHeads, headDim, 64, 128, 10000, 1e-6, false,
        "bfloat16", List.of());
  }

  @Test
  void refusesModelsThatDoNotSplit() {
    assertThatThrownBy(() -> Shard.check(config(6, 6, 4, 32), 4))
        .hasMessageContaining("num_attention_heads (6)")
        .hasMessageContaining("--tensor-parallel-size");
    assertThatThrownBy(() -> Shard.check(config(6, 3, 4, 32), 2))
        .hasMessageContaining("num_key_value_heads (3)");
    assertThatThrownBy(() -> Shard.check(config(4, 2, 4, 30), 4))
        .hasMessageContaining("intermediate_size (30)");
  }

  @Test
  void runnerAndEngineRefuseSizesTheyCannotRun() {
    CudaModelRunner.Options options = new CudaModelRunner.Options(0, 16, 64, 0.9, 4, 64, 128);
    // Checked before any GPU is touched: the same message on a machine without one.
    assertThatThrownBy(() -> TensorParallelRunner.load(
        io.redress.inference.testing.Fixtures.modelDir("qwen2-small-untied"), options, 3))
        .hasMessageContaining("tensor parallel size 3 must divide num_attention_heads (4)");
    assertThatThrownBy(() -> TensorParallelRunner.random(config(4, 2, 4, 32), options, 1, 0, 1))
        .hasMessageContaining("at least 2 GPUs");
    assertThatThrownBy(() -> io.redress.inference.engine.EngineConfig.builder(
        java.nio.file.Path.of("m")).device(io.redress.inference.engine.EngineConfig.Device.CPU)
        .tensorParallelSize(2).build()).hasMessageContaining("--tensor-parallel-size 1");
  }

  @Test
  void qwenSizesSplitIntoWholeHeads() {
    ModelConfig b14 = new Shard(1, 2).local(KnownConfigs.get("qwen2.5-14b"));
    assertThat(List.of(b14.numHeads(), b14.numKvHeads(), b14.intermediateSize()))
        .containsExactly(20, 4, 6912);
    ModelConfig b7 = new Shard(3, 4).local(KnownConfigs.get("qwen2.5-7b"));
    assertThat(List.of(b7.numHeads(), b7.numKvHeads(), b7.intermediateSize()))
        .containsExactly(7, 1, 4736);
    // 0.5B's 14 heads do not split four ways.
    assertThatThrownBy(() -> Shard.check(KnownConfigs.get("qwen2.5-0.5b"), 4))
        .hasMessageContaining("num_attention_heads (14)");
    // 1.5B over 4: two KV heads for four ranks, each replicated on two.
    ModelConfig c = KnownConfigs.get("qwen2.5-1.5b");
    assertThat(new Shard(1, 4).kvRows(c, 0).row0()).isZero();
    assertThat(new Shard(2, 4).kvRows(c, 0).row0()).isEqualTo(c.headDim());
  }

  @Test
  void theLmHeadSplitsByVocabularyWhereTheRowsDivide() {
    ModelConfig b14 = KnownConfigs.get("qwen2.5-14b"); // 152,064 rows
    assertThat(new Shard(1, 2).splitsVocab(b14)).isTrue();
    assertThat(new Shard(1, 2).vocabRows(b14).row0()).isEqualTo(76_032);
    assertThat(new Shard(1, 2).vocabRows(b14).rows()).isEqualTo(76_032);
    assertThat(Shard.WHOLE.splitsVocab(b14)).isFalse();
    ModelConfig odd = config(4, 2, 4, 32); // 64 rows: 4 ranks of 16, but not 3
    assertThat(new Shard(2, 4).vocabRows(odd).row0()).isEqualTo(32);
    assertThat(new Shard(0, 3).splitsVocab(odd)).isFalse();
    assertThat(new Shard(0, 3).vocabRows(odd).rows()).isEqualTo(64);
  }

  @Test
  void slicesCutRowsAndColumns() {
    float[] m = new float[4 * 5];
    for (int i = 0; i < m.length; i++) {
      m[i] = i;
    }
    assertThat(Slice.rows(4, 5, 1, 2).extract(m)).containsExactly(5, 6, 7, 8, 9, 10, 11, 12,
        13, 14);
    assertThat(Slice.cols(4, 5, 3, 2).extract(m)).containsExactly(3, 4, 8, 9, 13, 14, 18, 19);
    assertThat(Slice.rows(20, 0, 6, 3).extract(m)).containsExactly(6, 7, 8);
  }

  @ParameterizedTest
  @CsvSource({"4, 2, 2", "4, 2, 4", "2, 1, 2", "8, 2, 4", "8, 8, 2", "12, 4, 2"})
  void shardedLayerSumsToTheWholeLayer(int heads, int kvHeads, int size) {
    ModelConfig c = config(heads, kvHeads, 6, 16 * size);
    Random r = new Random(heads * 100 + kvHeads * 10 + size);
    int d = c.hiddenSize();
    int tokens = 5;
    Layer whole = Layer.random(c, r);
    float[] x = gaussian(r, tokens * d);
    float[] expected = whole.forward(c, x, tokens);
    float[] sum = new float[tokens * d];
    for (int rank = 0; rank < size; rank++) {
      Shard shard = new Shard(rank, size);
      float[] part = whole.shard(shard, c).forward(shard.local(c), x, tokens);
      for (int i = 0; i < sum.length; i++) {
        sum[i] += part[i];
      }
    }
    for (int i = 0; i < sum.length; i++) {
      assertThat((double) sum[i]).as("output %d", i)
          .isCloseTo(expected[i], org.assertj.core.data.Offset.offset(1e-4));
    }
  }

  /** One decoder layer's projections (no norms or RoPE: every rank applies those whole). */
  private record Layer(float[] wq, float[] wk, float[] wv, float[] bq, float[] bk, float[] bv,
      float[] wo, float[] wg, float[] wu, float[] wd) {

    static Layer random(ModelConfig c, Random r) {
      int d = c.hiddenSize();
      int q = c.qSize();
      int kv = c.kvSize();
      int in = c.intermediateSize();
      return new Layer(gaussian(r, q * d), gaussian(r, kv * d), gaussian(r, kv * d),
          gaussian(r, q), gaussian(r, kv), gaussian(r, kv), gaussian(r, d * q),
          gaussian(r, in * d), gaussian(r, in * d), gaussian(r, d * in));
    }

    /** The slices {@code s} holds, cut as the GPU weights are. */
    Layer shard(Shard s, ModelConfig c) {
      int d = c.hiddenSize();
      return new Layer(s.queryRows(c, d).extract(wq), s.kvRows(c, d).extract(wk),
          s.kvRows(c, d).extract(wv), s.queryRows(c, 0).extract(bq), s.kvRows(c, 0).extract(bk),
          s.kvRows(c, 0).extract(bv), s.queryCols(c).extract(wo), s.unitRows(c).extract(wg),
          s.unitRows(c).extract(wu), s.unitCols(c).extract(wd));
    }

    /** o_proj(attention(x)) + down(silu(gate x) * up x), per token; c: the (local) model. */
    float[] forward(ModelConfig c, float[] x, int tokens) {
      int d = c.hiddenSize();
      int hd = c.headDim();
      int q = c.qSize();
      int kv = c.kvSize();
      int in = c.intermediateSize();
      float[][] qs = new float[tokens][];
      float[][] ks = new float[tokens][];
      float[][] vs = new float[tokens][];
      float[] out = new float[tokens * d];
      for (int t = 0; t < tokens; t++) {
        qs[t] = matvec(wq, bq, x, t * d, q, d);
        ks[t] = matvec(wk, bk, x, t * d, kv, d);
        vs[t] = matvec(wv, bv, x, t * d, kv, d);
      }
      int group = c.numHeads() / c.numKvHeads();
      for (int t = 0; t < tokens; t++) {
        float[] attn = new float[q];
        for (int h = 0; h < c.numHeads(); h++) {
          int g = h / group;
          double[] p = new double[t + 1];
          double max = Double.NEGATIVE_INFINITY;
          for (int s = 0; s <= t; s++) {
            double dot = 0;
            for (int i = 0; i < hd; i++) {
              dot += qs[t][h * hd + i] * ks[s][g * hd + i];
            }
            p[s] = dot / Math.sqrt(hd);
            max = Math.max(max, p[s]);
          }
          double z = 0;
          for (int s = 0; s <= t; s++) {
            p[s] = Math.exp(p[s] - max);
            z += p[s];
          }
          for (int s = 0; s <= t; s++) {
            for (int i = 0; i < hd; i++) {
              attn[h * hd + i] += (float) (p[s] / z * vs[s][g * hd + i]);
            }
          }
        }
        float[] o = matvec(wo, null, attn, 0, d, q);
        float[] gate = matvec(wg, null, x, t * d, in, d);
        float[] up = matvec(wu, null, x, t * d, in, d);
        float[] act = new float[in];
        for (int i = 0; i < in; i++) {
          act[i] = (float) (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
        }
        float[] mlp = matvec(wd, null, act, 0, d, in);
        for (int i = 0; i < d; i++) {
          out[t * d + i] = o[i] + mlp[i];
        }
      }
      return out;
    }
  }

  private static float[] matvec(float[] w, float[] bias, float[] x, int x0, int rows,
      int cols) {
    float[] y = new float[rows];
    for (int row = 0; row < rows; row++) {
      double s = bias == null ? 0 : bias[row];
      for (int i = 0; i < cols; i++) {
        s += w[row * cols + i] * x[x0 + i];
      }
      y[row] = (float) s;
    }
    return y;
  }

  private static float[] gaussian(Random r, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (r.nextGaussian() * 0.3);
    }
    return v;
  }
}
