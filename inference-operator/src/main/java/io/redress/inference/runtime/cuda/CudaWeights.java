package io.redress.inference.runtime.cuda;

import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;

import io.redress.inference.model.DType;
import io.redress.inference.model.ModelConfig;
import io.redress.inference.model.ModelLoadException;
import io.redress.inference.model.SafeTensors;
import io.redress.inference.model.SafeTensorsWriter;
import io.redress.inference.model.TensorInfo;
import io.redress.inference.model.WeightNames;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import jcuda.Pointer;

/**
 * A Qwen2 model's weights resident on the GPU in bf16, Q/K/V and gate/up stacked as on the CPU
 * so each layer runs four GEMMs. Loaded from safetensors through a pinned staging buffer, or
 * drawn at random on the GPU itself (benchmarks at real shapes without weight files).
 */
final class CudaWeights {

  /**
   * One decoder layer.
   *
   * @param inputNorm (hidden)
   * @param qkvWeight (qSize + 2 kvSize, hidden)
   * @param qkvBias (qSize + 2 kvSize)
   * @param oWeight (hidden, qSize)
   * @param postNorm (hidden)
   * @param gateUpWeight (2 intermediate, hidden)
   * @param downWeight (hidden, intermediate)
   */
  record Layer(DeviceBuffer inputNorm, DeviceBuffer qkvWeight, DeviceBuffer qkvBias,
      DeviceBuffer oWeight, DeviceBuffer postNorm, DeviceBuffer gateUpWeight,
      DeviceBuffer downWeight) {}

  final DeviceBuffer embed; // (vocab, hidden)
  final List<Layer> layers;
  final DeviceBuffer finalNorm; // (hidden)
  final DeviceBuffer lmHead; // (vocab, hidden); the embedding when tied

  private CudaWeights(DeviceBuffer embed, List<Layer> layers, DeviceBuffer finalNorm,
      DeviceBuffer lmHead) {
    this.embed = embed;
    this.layers = List.copyOf(layers);
    this.finalNorm = finalNorm;
    this.lmHead = lmHead;
  }

  private interface Source {
    /** Fills {@code rows x cols} bf16 values at {@code byteOffset} of {@code dst}. */
    void fill(String name, DeviceBuffer dst, long byteOffset, long rows, long cols, float mean,
        float std);
  }

  static CudaWeights load(CudaDevice device, ModelConfig c, SafeTensors st) {
    try (Stager stager = new Stager(st)) {
      return build(device, c, (name, dst, off, rows, cols, mean, std) ->
          stager.upload(name, cols == 0 ? new long[] {rows} : new long[] {rows, cols}, dst, off));
    }
  }

  static CudaWeights random(CudaDevice device, Kernels kernels, ModelConfig c, long seed) {
    long[] counter = {seed};
    CudaWeights w = build(device, c, (name, dst, off, rows, cols, mean, std) ->
        kernels.fillNormal(dst.at(off), rows * Math.max(cols, 1), counter[0]++, mean, std));
    device.synchronize();
    return w;
  }

  private static CudaWeights build(CudaDevice device, ModelConfig c, Source src) {
    long d = c.hiddenSize();
    long q = c.qSize();
    long kv = c.kvSize();
    long inter = c.intermediateSize();
    DeviceBuffer embed = device.alloc(2 * c.vocabSize() * d);
    src.fill(WeightNames.EMBED, embed, 0, c.vocabSize(), d, 0f, 0.5f);
    List<Layer> layers = new ArrayList<>();
    for (int i = 0; i < c.numLayers(); i++) {
      float std = (float) (1 / Math.sqrt(d));
      DeviceBuffer inNorm = device.alloc(2 * d);
      src.fill(WeightNames.layer(i, "input_layernorm.weight"), inNorm, 0, d, 0, 1f, 0.1f);
      DeviceBuffer qkvW = device.alloc(2 * (q + 2 * kv) * d);
      src.fill(WeightNames.layer(i, "self_attn.q_proj.weight"), qkvW, 0, q, d, 0f, std);
      src.fill(WeightNames.layer(i, "self_attn.k_proj.weight"), qkvW, 2 * q * d, kv, d, 0f, std);
      src.fill(WeightNames.layer(i, "self_attn.v_proj.weight"), qkvW, 2 * (q + kv) * d, kv, d,
          0f, std);
      DeviceBuffer qkvB = device.alloc(2 * (q + 2 * kv));
      src.fill(WeightNames.layer(i, "self_attn.q_proj.bias"), qkvB, 0, q, 0, 0f, 0.1f);
      src.fill(WeightNames.layer(i, "self_attn.k_proj.bias"), qkvB, 2 * q, kv, 0, 0f, 0.1f);
      src.fill(WeightNames.layer(i, "self_attn.v_proj.bias"), qkvB, 2 * (q + kv), kv, 0, 0f,
          0.1f);
      DeviceBuffer oW = device.alloc(2 * d * q);
      src.fill(WeightNames.layer(i, "self_attn.o_proj.weight"), oW, 0, d, q, 0f,
          (float) (1 / Math.sqrt(q)));
      DeviceBuffer postNorm = device.alloc(2 * d);
      src.fill(WeightNames.layer(i, "post_attention_layernorm.weight"), postNorm, 0, d, 0, 1f,
          0.1f);
      DeviceBuffer gu = device.alloc(2 * 2 * inter * d);
      src.fill(WeightNames.layer(i, "mlp.gate_proj.weight"), gu, 0, inter, d, 0f, std);
      src.fill(WeightNames.layer(i, "mlp.up_proj.weight"), gu, 2 * inter * d, inter, d, 0f, std);
      DeviceBuffer down = device.alloc(2 * d * inter);
      src.fill(WeightNames.layer(i, "mlp.down_proj.weight"), down, 0, d, inter, 0f,
          (float) (1 / Math.sqrt(inter)));
      layers.add(new Layer(inNorm, qkvW, qkvB, oW, postNorm, gu, down));
    }
    DeviceBuffer norm = device.alloc(2 * d);
    src.fill(WeightNames.FINAL_NORM, norm, 0, d, 0, 1f, 0.1f);
    DeviceBuffer lmHead = embed;
    if (!c.tieWordEmbeddings()) {
      lmHead = device.alloc(2 * c.vocabSize() * d);
      src.fill(WeightNames.LM_HEAD, lmHead, 0, c.vocabSize(), d, 0f, 0.5f);
    }
    return new CudaWeights(embed, layers, norm, lmHead);
  }

  /** Copies tensors to the device through one pinned host buffer, converting to bf16. */
  private static final class Stager implements AutoCloseable {
    private static final int STAGING = 64 << 20;
    private final SafeTensors st;
    private final Pointer pinned = new Pointer();
    private final ByteBuffer buffer;

    Stager(SafeTensors st) {
      this.st = st;
      cuMemAllocHost(pinned, STAGING);
      this.buffer = pinned.getByteBuffer(0, STAGING).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    }

    void upload(String name, long[] shape, DeviceBuffer dst, long offset) {
      TensorInfo info = st.info(name);
      if (!info.hasShape(shape)) {
        throw new ModelLoadException("tensor '" + name + "' in " + info.file() + " has shape "
            + info.shapeText() + " but config.json implies " + Arrays.toString(shape)
            + ": the weights and config.json do not belong together");
      }
      long[] at = {offset};
      if (info.dtype() == DType.BF16) {
        st.forEachChunk(name, chunk -> {
          while (chunk.hasRemaining()) {
            int n = Math.min(STAGING, chunk.remaining());
            buffer.clear();
            ByteBuffer slice = chunk.slice();
            slice.limit(n);
            buffer.put(slice);
            chunk.position(chunk.position() + n);
            cuMemcpyHtoD(dst.at(at[0]), pinned, n);
            at[0] += n;
          }
        });
        return;
      }
      float[] values = st.floats(name, shape); // f16 / f32: convert on the host
      for (int start = 0; start < values.length; start += STAGING / 2) {
        int n = Math.min(STAGING / 2, values.length - start);
        buffer.clear();
        for (int i = 0; i < n; i++) {
          buffer.putShort(SafeTensorsWriter.floatToBf16(values[start + i]));
        }
        cuMemcpyHtoD(dst.at(at[0]), pinned, 2L * n);
        at[0] += 2L * n;
      }
    }

    @Override
    public void close() {
      cuMemFreeHost(pinned);
    }
  }
}
