package io.redress.inference.runtime.cuda;

import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;

import io.redress.inference.model.DType;
import io.redress.inference.model.GptqConfig;
import io.redress.inference.model.ModelConfig;
import io.redress.inference.model.ModelLoadException;
import io.redress.inference.model.SafeTensors;
import io.redress.inference.model.SafeTensorsWriter;
import io.redress.inference.model.TensorInfo;
import io.redress.inference.model.WeightNames;
import io.redress.inference.runtime.cuda.Shard.Slice;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import jcuda.Pointer;

/**
 * A Qwen2 model's weights resident on the GPU in bf16, Q/K/V and gate/up stacked as on the CPU
 * so each layer runs four GEMMs. Loaded from safetensors through a pinned staging buffer, or
 * drawn at random on the GPU itself (benchmarks at real shapes without weight files).
 *
 * <p>A GPTQ checkpoint's quantized linear layers stay int4 on the device ({@link Q4}, repacked
 * at load by {@link #pack} into the layout w4a16.cu documents); embedding, norms, biases
 * and the LM head stay bf16.
 */
final class CudaWeights {

  /**
   * One decoder layer. A GPTQ layer's projections are int4 ({@code *Q}) and their bf16
   * buffers null; otherwise the {@code *Q} components are null.
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
      DeviceBuffer downWeight, Q4 qkvQ, Q4 oQ, Q4 gateUpQ, Q4 downQ) {

    /** The quantized projections present (none for a bf16 layer). */
    List<Q4> quantized() {
      List<Q4> out = new ArrayList<>();
      for (Q4 q : new Q4[] {qkvQ, oQ, gateUpQ, downQ}) {
        if (q != null) {
          out.add(q);
        }
      }
      return out;
    }
  }

  /**
   * A GPTQ int4 linear layer {@code (rows, k)} on the device, possibly stacked from up to three
   * projections ("parts") that share the input, in w4a16.cu's layout.
   *
   * @param codes uint32, {@code rows * k / 8}: the codes in (permuted) input order, laid out as
   *     mma A fragments ({@link #codeWord}, {@link #codeShift})
   * @param scaleZero half2 {@code (rows, groups)}: {scale, zero + zeroOffset} per row and group
   * @param perm int {@code (parts, k)}: permuted position j of part p reads input
   *     {@code perm[p * k + j]}; null where no part is permuted (no act-order)
   * @param invPerm int {@code (parts, k)}: the inverse (input i sits at position invPerm[...])
   * @param group positions per group ({@code k} for one group), a multiple of 32
   * @param parts parts with their own permutation (1 when none or all share one)
   * @param bound1 first row of part 1 ({@link Integer#MAX_VALUE} when none)
   * @param bound2 first row of part 2 ({@link Integer#MAX_VALUE} when none)
   * @param stripScales the strip-major copy of scaleZero that the chain and the many-token
   *     kernels' _szs twins read ({@link Kernels#w4ChainScales}), made by the runner; null
   *     without
   * @param stripZ8 whether stripScales holds the scales only, every zero point being 8 (the
   *     _z8 kernels read them)
   */
  record Q4(DeviceBuffer codes, DeviceBuffer scaleZero, DeviceBuffer perm, DeviceBuffer invPerm,
      int rows, int k, int group, int parts, int bound1, int bound2, DeviceBuffer stripScales,
      boolean stripZ8) {

    Q4(DeviceBuffer codes, DeviceBuffer scaleZero, DeviceBuffer perm, DeviceBuffer invPerm,
        int rows, int k, int group, int parts, int bound1, int bound2) {
      this(codes, scaleZero, perm, invPerm, rows, k, group, parts, bound1, bound2, null, false);
    }

    /** This layer with its strip-major scales, scales only where {@code z8}. */
    Q4 withStripScales(DeviceBuffer szs, boolean z8) {
      return new Q4(codes, scaleZero, perm, invPerm, rows, k, group, parts, bound1, bound2, szs,
          z8);
    }
  }

  final DeviceBuffer embed; // (vocab, hidden)
  /** The layers; the runner swaps in GPTQ layers carrying their strip-major scales once. */
  List<Layer> layers;
  final DeviceBuffer finalNorm; // (hidden)
  // (vocab, hidden), the embedding when tied; under tensor parallelism the rank's vocabulary
  // rows (Shard#vocabRows), or null on a rank that neither samples nor holds a share
  final DeviceBuffer lmHead;

  private CudaWeights(DeviceBuffer embed, List<Layer> layers, DeviceBuffer finalNorm,
      DeviceBuffer lmHead) {
    this.embed = embed;
    this.layers = List.copyOf(layers);
    this.finalNorm = finalNorm;
    this.lmHead = lmHead;
  }

  /**
   * Gives layer l's O, gate/up, down and QKV projections the strip-major scales
   * {@code scales.get(l)[0..3]} (null entries leave a projection as it is), scales only where
   * {@code z8}.
   */
  void attachStripScales(List<DeviceBuffer[]> scales, boolean z8) {
    List<Layer> out = new ArrayList<>();
    for (int l = 0; l < layers.size(); l++) {
      Layer w = layers.get(l);
      DeviceBuffer[] s = scales.get(l);
      out.add(new Layer(w.inputNorm(), w.qkvWeight(), w.qkvBias(), w.oWeight(), w.postNorm(),
          w.gateUpWeight(), w.downWeight(), with(w.qkvQ(), s[3], z8), with(w.oQ(), s[0], z8),
          with(w.gateUpQ(), s[1], z8), with(w.downQ(), s[2], z8)));
    }
    layers = List.copyOf(out);
  }

  private static Q4 with(Q4 q, DeviceBuffer szs, boolean z8) {
    return q == null || szs == null ? q : q.withStripScales(szs, z8);
  }

  private interface Source {
    /**
     * Fills the slice {@code s} of tensor {@code name} as bf16 at {@code byteOffset} of
     * {@code dst} (random values: mean and std).
     */
    void fill(String name, DeviceBuffer dst, long byteOffset, Slice s, float mean, float std);
  }

  /**
   * Loads a checkpoint, or the part of it {@code shard} holds; {@code gptq} non-null for a GPTQ
   * one.
   */
  static CudaWeights load(CudaDevice device, ModelConfig c, Shard shard, SafeTensors st,
      GptqConfig gptq) {
    if (gptq != null && shard.size() > 1) {
      throw new ModelLoadException("tensor parallelism runs bf16 checkpoints; this one is GPTQ"
          + " int4, which fits one GPU where its bf16 twin needs two: run it with"
          + " --tensor-parallel-size 1");
    }
    try (Stager stager = new Stager(st)) {
      return build(device, c, shard, (name, dst, off, slice, mean, std) ->
          stager.upload(name, slice, dst, off),
          gptq == null ? null : (layer, k, names, rows) ->
              quantized(device, st, gptq, layer, k, names, rows));
    }
  }

  /** Loads the quantized projections of one stacked layer. */
  private interface QuantSource {
    /** The parts {@code names} (rows each) of layer {@code layer} as one Q4, or null if bf16. */
    Q4 load(int layer, int k, String[] names, int[] rows);
  }

  /** Whether any layer is GPTQ int4. */
  boolean quantized() {
    return layers.stream().anyMatch(l -> !l.quantized().isEmpty());
  }

  /** Whether every decoder projection is GPTQ int4 (the fused int4 decode path needs all). */
  boolean allQuantized() {
    return layers.stream().allMatch(l -> l.quantized().size() == 4);
  }

  /**
   * Random weights drawn on the device, bf16; with {@code gptqGroup > 0} the decoder's
   * projections are GPTQ int4 instead (random codes, zero 8, scales giving the bf16 model's
   * 1 / sqrt(inputs) spread), in groups of that many inputs, without act-order.
   */
  static CudaWeights random(CudaDevice device, Kernels kernels, ModelConfig c, Shard shard,
      long seed, int gptqGroup) {
    long[] counter = {seed};
    QuantSource quant = gptqGroup <= 0 ? null : (layer, k, names, parts) -> {
      int rows = java.util.stream.IntStream.of(parts).sum();
      if (rows % 16 != 0 || k % 64 != 0 || k % gptqGroup != 0 || gptqGroup % 32 != 0) {
        throw new IllegalArgumentException("random GPTQ weights need rows % 16, inputs % 64"
            + " and a group size that is a multiple of 32 dividing the inputs (" + rows + " x "
            + k + ", group " + gptqGroup + ")");
      }
      DeviceBuffer codes = device.alloc((long) rows * k / 2);
      kernels.fillRandomU32(codes.ptr(), (long) rows * k / 8, counter[0]++);
      long groups = (long) rows * (k / gptqGroup);
      DeviceBuffer scaleZero = device.alloc(4 * groups);
      // q - 8 for uniform 4-bit q has a root mean square of about 4.64
      kernels.fillScaleZeroW4(scaleZero.ptr(), groups, counter[0]++,
          (float) (1 / (4.64 * Math.sqrt(k))));
      return new Q4(codes, scaleZero, null, null, rows, k, gptqGroup, 1, Integer.MAX_VALUE,
          Integer.MAX_VALUE);
    };
    CudaWeights w = build(device, c, shard, (name, dst, off, slice, mean, std) ->
        kernels.fillNormal(dst.at(off), slice.count(), counter[0]++, mean, std), quant);
    device.synchronize();
    return w;
  }

  /**
   * The weights {@code shard} holds (all of them for {@link Shard#WHOLE}): its query heads and
   * KV heads of Q/K/V and their columns of the attention output, its units of gate/up and their
   * columns of down. The LM head is loaded only where the shard samples.
   */
  private static CudaWeights build(CudaDevice device, ModelConfig c, Shard shard, Source src,
      QuantSource quant) {
    ModelConfig local = shard.local(c);
    long d = c.hiddenSize();
    long ql = local.qSize();
    long kvl = local.kvSize();
    long interl = local.intermediateSize();
    DeviceBuffer embed = device.alloc(2 * c.vocabSize() * d);
    src.fill(WeightNames.EMBED, embed, 0, Slice.whole(c.vocabSize(), d), 0f, 0.5f);
    List<Layer> layers = new ArrayList<>();
    for (int i = 0; i < c.numLayers(); i++) {
      float std = (float) (1 / Math.sqrt(d));
      DeviceBuffer inNorm = device.alloc(2 * d);
      src.fill(WeightNames.layer(i, "input_layernorm.weight"), inNorm, 0, Slice.whole(d, 0),
          1f, 0.1f);
      int di = (int) d;
      Q4 qkvQ = quant == null ? null : quant.load(i, di,
          new String[] {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"},
          new int[] {(int) ql, (int) kvl, (int) kvl});
      DeviceBuffer qkvW = null;
      if (qkvQ == null) {
        qkvW = device.alloc(2 * (ql + 2 * kvl) * d);
        src.fill(WeightNames.layer(i, "self_attn.q_proj.weight"), qkvW, 0,
            shard.queryRows(c, d), 0f, std);
        src.fill(WeightNames.layer(i, "self_attn.k_proj.weight"), qkvW, 2 * ql * d,
            shard.kvRows(c, d), 0f, std);
        src.fill(WeightNames.layer(i, "self_attn.v_proj.weight"), qkvW, 2 * (ql + kvl) * d,
            shard.kvRows(c, d), 0f, std);
      }
      DeviceBuffer qkvB = device.alloc(2 * (ql + 2 * kvl));
      src.fill(WeightNames.layer(i, "self_attn.q_proj.bias"), qkvB, 0, shard.queryRows(c, 0),
          0f, 0.1f);
      src.fill(WeightNames.layer(i, "self_attn.k_proj.bias"), qkvB, 2 * ql, shard.kvRows(c, 0),
          0f, 0.1f);
      src.fill(WeightNames.layer(i, "self_attn.v_proj.bias"), qkvB, 2 * (ql + kvl),
          shard.kvRows(c, 0), 0f, 0.1f);
      Q4 oQ = quant == null ? null : quant.load(i, (int) ql,
          new String[] {"self_attn.o_proj"}, new int[] {di});
      DeviceBuffer oW = null;
      if (oQ == null) {
        oW = device.alloc(2 * d * ql);
        src.fill(WeightNames.layer(i, "self_attn.o_proj.weight"), oW, 0, shard.queryCols(c), 0f,
            (float) (1 / Math.sqrt(c.qSize())));
      }
      DeviceBuffer postNorm = device.alloc(2 * d);
      src.fill(WeightNames.layer(i, "post_attention_layernorm.weight"), postNorm, 0,
          Slice.whole(d, 0), 1f, 0.1f);
      Q4 guQ = quant == null ? null : quant.load(i, di,
          new String[] {"mlp.gate_proj", "mlp.up_proj"}, new int[] {(int) interl, (int) interl});
      DeviceBuffer gu = null;
      if (guQ == null) {
        gu = device.alloc(2 * 2 * interl * d);
        src.fill(WeightNames.layer(i, "mlp.gate_proj.weight"), gu, 0, shard.unitRows(c), 0f,
            std);
        src.fill(WeightNames.layer(i, "mlp.up_proj.weight"), gu, 2 * interl * d,
            shard.unitRows(c), 0f, std);
      }
      Q4 downQ = quant == null ? null : quant.load(i, (int) interl,
          new String[] {"mlp.down_proj"}, new int[] {di});
      DeviceBuffer down = null;
      if (downQ == null) {
        down = device.alloc(2 * d * interl);
        src.fill(WeightNames.layer(i, "mlp.down_proj.weight"), down, 0, shard.unitCols(c), 0f,
            (float) (1 / Math.sqrt(c.intermediateSize())));
      }
      layers.add(new Layer(inNorm, qkvW, qkvB, oW, postNorm, gu, down, qkvQ, oQ, guQ, downQ));
    }
    DeviceBuffer norm = device.alloc(2 * d);
    src.fill(WeightNames.FINAL_NORM, norm, 0, Slice.whole(d, 0), 1f, 0.1f);
    // The LM head, or this rank's rows of it (split by vocabulary; else rank 0's whole).
    Slice head = shard.vocabRows(c);
    DeviceBuffer lmHead = null;
    if (c.tieWordEmbeddings()) {
      long off = 2 * head.row0() * d;
      lmHead = new DeviceBuffer(embed.at(off), 2 * head.rows() * d, embed.address() + off);
    } else if (shard.samples() || shard.splitsVocab(c)) {
      lmHead = device.alloc(2 * head.rows() * d);
      src.fill(WeightNames.LM_HEAD, lmHead, 0, head, 0f, 0.5f);
    }
    return new CudaWeights(embed, layers, norm, lmHead);
  }

  /** One GPTQ projection's tensors as the checkpoint holds them (see {@link GptqConfig}). */
  record GptqTensors(int[] qweight, int[] qzeros, float[] scales, int[] gIdx, int out) {}

  /**
   * A stacked GPTQ layer repacked on the host for {@link Q4} (same fields, host arrays).
   * {@code perm} and {@code invPerm} are null when no part is permuted.
   */
  record Packed(int[] codes, int[] scaleZero, int[] perm, int[] invPerm, int rows, int k,
      int group, int parts, int bound1, int bound2) {

    /** The dequantized weight of row r, checkpoint input i, as the kernels compute it (fp32). */
    float weight(int r, int i) {
      int part = (r >= bound1 ? 1 : 0) + (r >= bound2 ? 1 : 0);
      int pos = invPerm == null ? i : invPerm[part * k + i];
      int groups = k / group;
      int q = (codes[codeWord(r, pos, k)] >>> codeShift(r, pos)) & 0xF;
      int sz = scaleZero[r * groups + pos / group];
      float scale = SafeTensors.f16ToFloat((short) sz);
      float zero = SafeTensors.f16ToFloat((short) (sz >>> 16));
      return scale * (q - zero);
    }
  }

  private static Q4 quantized(CudaDevice device, SafeTensors st, GptqConfig gptq, int layer,
      int k, String[] names, int[] rows) {
    int present = 0;
    for (String name : names) {
      present += st.contains(WeightNames.layer(layer, name + ".qweight")) ? 1 : 0;
    }
    if (present == 0) {
      return null;
    }
    if (present != names.length) {
      throw new ModelLoadException("layer " + layer + ": " + String.join(", ", names)
          + " share their input and run as one stacked GEMM on the GPU, so they must all be"
          + " GPTQ-quantized or all unquantized; this checkpoint mixes them");
    }
    List<GptqTensors> parts = new ArrayList<>();
    for (int p = 0; p < names.length; p++) {
      String prefix = WeightNames.layer(layer, names[p]);
      int out = rows[p];
      if (k % 8 != 0 || out % 8 != 0) {
        throw new ModelLoadException(prefix + ": GPTQ packs 8 values per int32, so both"
            + " dimensions must be multiples of 8 (" + out + " x " + k + ")");
      }
      int groups = gptq.groupSize() < 0 ? 1 : (k + gptq.groupSize() - 1) / gptq.groupSize();
      parts.add(new GptqTensors(st.ints(prefix + ".qweight", k / 8, out),
          st.ints(prefix + ".qzeros", groups, out / 8),
          st.floats(prefix + ".scales", groups, out),
          st.contains(prefix + ".g_idx") ? st.ints(prefix + ".g_idx", k) : null, out));
    }
    Packed h = pack(gptq, WeightNames.layer(layer, names[0]), parts, k);
    DeviceBuffer perm = h.perm() == null ? null : upload(device, h.perm());
    DeviceBuffer invPerm = h.invPerm() == null ? null : upload(device, h.invPerm());
    return new Q4(upload(device, h.codes()), upload(device, h.scaleZero()), perm, invPerm,
        h.rows(), h.k(), h.group(), h.parts(), h.bound1(), h.bound2());
  }

  /** A new device buffer holding {@code values}, the copy complete when this returns. */
  static DeviceBuffer upload(CudaDevice device, int[] values) {
    DeviceBuffer b = device.alloc(4L * values.length);
    cuMemcpyHtoD(b.ptr(), Pointer.to(values), 4L * values.length);
    // A copy from pageable memory may still be in flight when cuMemcpyHtoD returns, and the
    // runner's non-blocking stream would not wait for it.
    cuCtxSynchronize();
    return b;
  }

  /**
   * Repacks the GPTQ projections {@code parts} (stacked in this order, all of input width k)
   * into w4a16.cu's layout. Act-order: each part's input positions are sorted by group
   * (stably), so that position j lies in group j / group; a g_idx whose groups do not hold
   * exactly {@code group} inputs each (the last may be short) cannot be laid out so and is
   * refused. Parts with the same permutation (GPTQ derives it from the inputs, which q/k/v and
   * gate/up share) keep one copy.
   */
  static Packed pack(GptqConfig gptq, String name, List<GptqTensors> parts, int k) {
    int group = gptq.groupSize() < 0 ? k : gptq.groupSize();
    int groups = (k + group - 1) / group;
    int rows = parts.stream().mapToInt(GptqTensors::out).sum();
    // The tensor-core kernel's tiles: 16 output rows (and part boundaries) by 64 inputs, one
    // group per 32-input chunk. Every Qwen2 shape meets this.
    boolean partsAligned = parts.stream().allMatch(t -> t.out() % 16 == 0);
    if (!partsAligned || k % 64 != 0 || group % 32 != 0 || k % group != 0) {
      throw new ModelLoadException(name + ": the CUDA runner's int4 kernel needs output rows"
          + " in multiples of 16, inputs in multiples of 64 and group_size a multiple of 32"
          + " dividing the inputs (rows " + parts.stream().map(t -> String.valueOf(t.out()))
          .toList() + ", inputs " + k + ", group_size " + gptq.groupSize() + "). Run this"
          + " checkpoint with --device cpu.");
    }
    int[] codes = new int[rows * (k / 8)];
    int[] scaleZero = new int[rows * groups];
    List<int[]> perms = new ArrayList<>();
    int row0 = 0;
    for (GptqTensors t : parts) {
      int out = t.out();
      int[] perm = permutation(name, t.gIdx(), k, group, groups);
      perms.add(perm);
      int[] pos = perm == null ? null : inverse(perm);
      for (int r = 0; r < k / 8; r++) {
        for (int c = 0; c < out; c++) {
          int word = t.qweight()[r * out + c];
          for (int j = 0; j < 8; j++) {
            int i = 8 * r + j;
            int p = pos == null ? i : pos[i];
            codes[codeWord(row0 + c, p, k)] |= ((word >>> (4 * j)) & 0xF)
                << codeShift(row0 + c, p);
          }
        }
      }
      for (int c = 0; c < out; c++) {
        for (int g = 0; g < groups; g++) {
          int z = ((t.qzeros()[g * (out / 8) + c / 8] >>> (4 * (c & 7))) & 0xF)
              + gptq.zeroOffset();
          scaleZero[(row0 + c) * groups + g] = (half(z) << 16) | half(t.scales()[g * out + c]);
        }
      }
      row0 += out;
    }
    int[] bounds = {Integer.MAX_VALUE, Integer.MAX_VALUE};
    int numParts = 1;
    boolean anyPerm = perms.stream().anyMatch(p -> p != null);
    boolean shared = perms.stream().allMatch(p -> Arrays.equals(p, perms.get(0)));
    int[] perm = null;
    int[] invPerm = null;
    if (anyPerm) {
      List<int[]> distinct = shared ? List.of(perms.get(0)) : perms;
      numParts = distinct.size();
      perm = new int[numParts * k];
      invPerm = new int[numParts * k];
      int start = 0;
      for (int p = 0; p < numParts; p++) {
        int[] one = distinct.get(p) == null ? identity(k) : distinct.get(p);
        System.arraycopy(one, 0, perm, p * k, k);
        System.arraycopy(inverse(one), 0, invPerm, p * k, k);
        if (p > 0) {
          bounds[p - 1] = start;
        }
        start += parts.get(p).out();
      }
    }
    return new Packed(codes, scaleZero, perm, invPerm, rows, k, group, numParts, bounds[0],
        bounds[1]);
  }

  /**
   * The index in {@link Q4#codes} of the word holding row {@code row}, (permuted) input
   * {@code pos} of a layer {@code k} inputs wide: w4a16.cu's layout (strip of 16 rows, pair of
   * 64 inputs, lane, chunk, k-tile).
   */
  static int codeWord(int row, int pos, int k) {
    int lane = (row & 7) * 4 + ((pos >>> 3) & 3);
    return ((((row >>> 4) * (k / 64) + (pos >>> 6)) * 32 + lane) << 2)
        + (((pos >>> 5) & 1) << 1) + ((pos >>> 2) & 1);
  }

  /** The bit offset of that code within its word (w4a16.cu's nibble order). */
  static int codeShift(int row, int pos) {
    return 4 * (((pos >>> 1) & 1) * 2 + ((row & 15) >>> 3) + 4 * (pos & 1));
  }

  /**
   * Position j -> input, sorting inputs by group (stable); null when that is the identity (no
   * g_idx, or g_idx = i / group as without act-order).
   */
  private static int[] permutation(String name, int[] gIdx, int k, int group, int groups) {
    if (gIdx == null) {
      return null;
    }
    int[] count = new int[groups + 1];
    for (int i = 0; i < k; i++) {
      if (gIdx[i] < 0 || gIdx[i] >= groups) {
        throw new ModelLoadException(name + ": GPTQ g_idx[" + i + "] = " + gIdx[i]
            + " is outside the " + groups + " groups of the scales");
      }
      count[gIdx[i] + 1]++;
    }
    for (int g = 0; g < groups; g++) {
      count[g + 1] += count[g];
    }
    int[] perm = new int[k];
    boolean identity = true;
    for (int i = 0; i < k; i++) {
      int j = count[gIdx[i]]++;
      perm[j] = i;
      identity &= j == i;
    }
    for (int j = 0; j < k; j++) {
      if (gIdx[perm[j]] != j / group) {
        throw new ModelLoadException(name + ": GPTQ g_idx groups do not hold " + group
            + " inputs each (input " + perm[j] + " is in group " + gIdx[perm[j]] + "); the"
            + " CUDA runner needs groups of exactly group_size inputs, as GPTQ's act-order"
            + " export makes them. Run this checkpoint with --device cpu.");
      }
    }
    return identity ? null : perm;
  }

  /** fp16 bits (exact for GPTQ's fp16 scales and the small integer zeros). */
  private static int half(float f) {
    return SafeTensorsWriter.floatToF16(f) & 0xFFFF;
  }

  private static int[] inverse(int[] perm) {
    int[] inv = new int[perm.length];
    for (int j = 0; j < perm.length; j++) {
      inv[perm[j]] = j;
    }
    return inv;
  }

  private static int[] identity(int k) {
    int[] id = new int[k];
    for (int i = 0; i < k; i++) {
      id[i] = i;
    }
    return id;
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

    /**
     * Uploads slice {@code s} of tensor {@code name}. A whole bf16 tensor streams through
     * as it is; a slice (tensor parallelism) is cut out of the tensor read as floats, which
     * bf16 values survive exactly.
     */
    void upload(String name, Slice s, DeviceBuffer dst, long offset) {
      long[] shape = s.fullCols() == 0 ? new long[] {s.fullRows()}
          : new long[] {s.fullRows(), s.fullCols()};
      TensorInfo info = st.info(name);
      if (!info.hasShape(shape)) {
        throw new ModelLoadException("tensor '" + name + "' in " + info.file() + " has shape "
            + info.shapeText() + " but config.json implies " + Arrays.toString(shape)
            + ": the weights and config.json do not belong together");
      }
      if (!s.isWhole()) {
        uploadFloats(s.extract(st.floats(name, shape)), dst, offset);
        return;
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
      uploadFloats(st.floats(name, shape), dst, offset); // f16 / f32: convert on the host
    }

    private void uploadFloats(float[] values, DeviceBuffer dst, long offset) {
      long at = offset;
      for (int start = 0; start < values.length; start += STAGING / 2) {
        int n = Math.min(STAGING / 2, values.length - start);
        buffer.clear();
        for (int i = 0; i < n; i++) {
          buffer.putShort(SafeTensorsWriter.floatToBf16(values[start + i]));
        }
        cuMemcpyHtoD(dst.at(at), pinned, 2L * n);
        at += 2L * n;
      }
    }

    @Override
    public void close() {
      cuMemFreeHost(pinned);
    }
  }
}
