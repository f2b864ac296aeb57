package io.redress.inference.runtime.cuda;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemsetD32Async;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;
import static jcuda.driver.JCudaDriver.cuStreamWaitEvent;

import io.redress.inference.model.GptqConfig;
import io.redress.inference.model.ModelConfig;
import io.redress.inference.model.SafeTensors;
import io.redress.inference.runtime.KvCacheDtype;
import io.redress.inference.runtime.ModelRunner;
import io.redress.inference.runtime.SeqStep;
import io.redress.inference.runtime.Step;
import io.redress.inference.runtime.cpu.Sampler;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link ModelRunner} on one NVIDIA GPU: bf16 weights and the paged KV cache resident,
 * our kernels for everything but the GEMMs (cuBLAS), sampling on the device, and only the
 * sampled ids copied back. Per step the host writes a small block of metadata (token ids,
 * positions, slot mapping, block tables, sampling parameters) into pinned memory and copies it
 * over in two transfers.
 *
 * <p>GPTQ int4 checkpoints keep their quantized projections int4 on the device: steps of up to
 * {@link Kernels#W4_MAX_TOKENS} tokens run the W4A16 tensor-core kernel (unpacking in
 * registers, exact weights), larger ones dequantize each layer into one bf16 scratch buffer and
 * run cuBLAS. Steps of up to {@link #W4_FUSED_TOKENS} tokens take the fused path with the int4
 * twins of its kernels (w4a16_fused.cu) where every projection is quantized.
 *
 * <p>Under tensor parallelism ({@link TensorParallelRunner}) a runner is one rank: it holds a
 * {@link Shard} of the weights (its LM-head rows among them) and the KV cache of its heads.
 * Its attention-output and down projections make partial sums that {@link PeerAllReduce} adds
 * into the residual stream: in steps of several tokens a kernel reads the ranks' partials
 * together with the next norm; in one-token steps the projections push them into every rank's
 * slots and the next normed GEMV sums them in its prologue. Rank 0 gathers the logits and
 * samples.
 */
public final class CudaModelRunner implements ModelRunner {

  private static final Logger LOG = LoggerFactory.getLogger(CudaModelRunner.class);

  /**
   * Sizes of the runner.
   *
   * @param device GPU ordinal
   * @param blockSize tokens per KV block
   * @param numBlocks KV blocks, or 0 for {@code kvCacheFraction} of the GPU's memory
   * @param kvCacheFraction share of total GPU memory the whole runner may use
   * @param maxNumSeqs most sequences per step
   * @param maxNumBatchedTokens most tokens per step
   * @param maxModelLen longest sequence
   * @param kvCacheDtype bf16 ({@code AUTO}) or FP8 K/V in the paged cache
   */
  public record Options(int device, int blockSize, int numBlocks, double kvCacheFraction,
      int maxNumSeqs, int maxNumBatchedTokens, int maxModelLen, KvCacheDtype kvCacheDtype) {

    /** With the bf16 KV cache. */
    public Options(int device, int blockSize, int numBlocks, double kvCacheFraction,
        int maxNumSeqs, int maxNumBatchedTokens, int maxModelLen) {
      this(device, blockSize, numBlocks, kvCacheFraction, maxNumSeqs, maxNumBatchedTokens,
          maxModelLen, KvCacheDtype.AUTO);
    }
  }

  private final ModelConfig modelConfig; // the whole model's
  private final ModelConfig config; // this runner's part: heads and MLP units of its shard
  private final Shard shard;
  private final PeerAllReduce tp; // null on one GPU
  private final Options options;
  private final CudaDevice device;
  private final Kernels kernels;
  private final Cublas cublas;
  private final CudaWeights weights;
  private final int numBlocks;
  private final int maxBlocksPerSeq;
  /**
   * FP8 KV cache: per layer K and V as e4m3 bytes, then their fp16 scales (one per slot and KV
   * head). Fused steps keep their QKV step unfused (the cache writer needs a head's whole row);
   * split steps take the GQA split kernel, larger ones the one-block kernels.
   */
  private final boolean kvFp8;
  private final long kvLayerBytes; // K, V (and their scales) of one layer
  private final long kvValueOffset; // V within a layer
  private final long kvScaleOffset; // K scales within a layer (V scales follow); FP8 only
  private final DeviceBuffer kvCache;
  // Activations, sized for maxNumBatchedTokens tokens (T) and maxNumSeqs rows (S).
  private final DeviceBuffer x; // (T, d) f32 residual
  private final DeviceBuffer h; // (T, d) bf16 normed
  private final DeviceBuffer qkv; // (T, q + 2kv) f32
  private final DeviceBuffer q; // (T, q) bf16
  private final DeviceBuffer attn; // (T, q) bf16
  private final DeviceBuffer proj; // (T, d) f32; under tensor parallelism tp's two buffers
  private final DeviceBuffer xAlt; // tensor parallelism: x's twin in fused steps
  private final DeviceBuffer gateUp; // (T, 2 inter) f32
  private final DeviceBuffer act; // (T, inter) bf16
  private final DeviceBuffer hLast; // (S, d) bf16
  /**
   * The LM head GEMV's greedy pick's keys and count (Kernels.gemvPick), where fused steps' LM
   * head picks; else null.
   */
  private final DeviceBuffer pickScratch;
  private final DeviceBuffer logits; // (S, vocab) f32, on the sampling rank
  /** Tensor parallel: the LM head split by vocabulary rows, rank 0 gathering the logits. */
  private final boolean splitVocab;
  private final int vocabPart; // logits columns this rank computes
  private final DeviceBuffer logitsPart; // (S, vocabPart) f32 when split
  /** A step's metadata (ints; where, {@link MetaLayout}), then the sampled ids. */
  private final DeviceBuffer meta;
  /**
   * Pinned host copies of meta, two sets used by turns: a pipelined step writes its set while
   * the copy to the device of the step before, from the other, may not have run yet. hostMeta
   * and hostInts are the set of the step being written.
   */
  private final Pointer[] hostMetas = {new Pointer(), new Pointer()};
  private final IntBuffer[] hostIntSets = new IntBuffer[2];
  private int metaSet;
  private Pointer hostMeta;
  private IntBuffer hostInts;
  /**
   * Per set, on the copy streams and the device's: the step's metadata is on the device
   * (metaCopied), the step's work on the device's stream is done (setDone: the set is free for
   * the step two later), its sampled ids are on the host (sampledCopied).
   */
  private final CUevent[] metaCopied = new CUevent[2];
  private final CUevent[] setDone = new CUevent[2];
  private final CUevent[] sampledCopied = new CUevent[2];
  /** The streams of the metadata's copies to the device and of the sampled ids' to the host. */
  private final CUstream h2dStream = new CUstream();
  private final CUstream d2hStream = new CUstream();
  /** A step submitted and not yet collected: its host set, sampled rows, hostTimes row. */
  private record Submitted(int set, int rows, int guided) {}

  /** Oldest first. */
  private final java.util.ArrayDeque<Submitted> submitted = new java.util.ArrayDeque<>();
  /** {@code redress.cuda.pipeline=false}: the engine waits for each step before the next. */
  private static final boolean PIPELINE =
      !"false".equals(System.getProperty("redress.cuda.pipeline"));
  /**
   * Where a step's metadata lies in meta: per token (stride of them each) the ids (a fed one
   * negative: step_token in embedding.cu), positions, KV slots and sequence index; per sampling
   * row (maxNumSeqs each) the source token, top-k and, as float bits, temperature, top-p and
   * uniform draw; the step's epoch (a long: tensor-parallel flags derive from it); each
   * sequence's block table. One host-to-device copy carries a step's part, from 0 to its last
   * block table, so steps of a few tokens take {@link #small} (stride up to
   * {@link #SMALL_STEP_TOKENS}) rather than a stride of maxNumBatchedTokens: at 8,192 that
   * copy was 139 KB a decode step.
   */
  private record MetaLayout(int stride, int positions, int slots, int tokenSeq, int lastRows,
      int topK, int floats, int epoch, int tables) {
    static MetaLayout of(int stride, int sMax) {
      int lastRows = 4 * stride;
      int floats = lastRows + 2 * sMax;
      int epoch = (floats + 3 * sMax + 1) & ~1; // 8-byte aligned
      return new MetaLayout(stride, stride, 2 * stride, 3 * stride, lastRows, lastRows + sMax,
          floats, epoch, epoch + 2);
    }
  }

  /** Most tokens of a step that takes the {@link #small} metadata layout. */
  private static final int SMALL_STEP_TOKENS = 256;
  private final MetaLayout small;
  private final MetaLayout full;
  /** The layout of the step being enqueued ({@link #layoutFor}). */
  private MetaLayout lay;
  private final int offSampled; // the sampled ids (maxNumSeqs), past either layout's part
  private final int setInts; // a metadata set on the device: a step's part, its sampled ids
  private long epoch;
  private final DecodeGraphs graphs;
  private final boolean useGemv = !Boolean.getBoolean("redress.cuda.noGemv");
  /**
   * Whether steps of at most {@link Kernels#GEMV_BEST_TOKENS} tokens (decode graphs) run the
   * fused kernels: five launches per layer instead of nine (norms, RoPE + cache write, SiLU and
   * residual adds inside the GEMVs; split-K attention). {@code redress.cuda.fused=false} keeps
   * the unfused kernels, for comparison.
   */
  private final boolean fused;
  /**
   * Fused GPTQ steps of several tokens: the O and down kernels run the next norm themselves
   * (Kernels.ResidNorm: its group sums and grid barrier word here), so no norm kernel runs
   * between them and the QKV or gate/up kernel. {@code redress.cuda.residNorm=false} keeps the
   * norm kernels, for comparison. Null when off.
   */
  private final DeviceBuffer residNormScratch;
  /**
   * Steps of at most this many tokens run fused. On the H100 the fused kernels won at one token
   * (0.5B: 621 against 565 tokens/s) but lost at two (1,018 against 1,125), where the plain
   * GEMV reads each weight row once for both tokens with fewer registers.
   */
  static final int FUSED_TOKENS = 1;
  /**
   * GPTQ int4 steps of at most this many tokens run fused: one token through the norm-prologue
   * kernels, more through the many-token kernels behind a plain norm (the tokens ride the
   * MMA's n dimension, so 16 tokens read the codes once, as one does).
   */
  static final int W4_FUSED_TOKENS = Kernels.W4M_MAX_TOKENS;
  /** Split-K decode attention; {@code redress.cuda.splitAttention=false}: off. */
  private final boolean splitAttention =
      !"false".equals(System.getProperty("redress.cuda.splitAttention"));
  /**
   * Steps of at most this many tokens take split-K attention on the unfused path too (bf16
   * models from 2 tokens): one block per head and token walks its whole context alone, which
   * left 14B GPTQ batch 1 at 35 us of attention a layer. Large batches keep the GQA kernel (a
   * block per token and KV head fills the GPU there without splitting).
   */
  static final int SPLIT_TOKENS = 16;
  /** Widest model that takes {@link #layersArgs} by default (0.5B and 1.5B measured faster). */
  static final int LAYERS_MAX_HIDDEN = 1536;
  /**
   * Most keys of a one-token step that takes {@link #layersArgs}; longer contexts take the
   * separate fused kernels ({@code redress.cuda.layersMaxContext} overrides it). The launch
   * cuts a head's keys into at most 16 runs, a warp each, which every block merges: per key
   * it cost about 0.11 us a step against 0.01 for the separate kernels' split attention, so
   * that past some 3,200 keys the separate kernels were faster (0.5B batch 1 decode on one
   * H100: 1,126 against 1,011 tokens/s at 2,048 keys, 643 against 961 at 8,192, 412 against
   * 879 at 16,384).
   */
  static final int LAYERS_MAX_CONTEXT = 3072;
  private final int layersMaxContext =
      Integer.getInteger("redress.cuda.layersMaxContext", LAYERS_MAX_CONTEXT);
  /** Graph key bit of a one-token step past {@link #LAYERS_MAX_CONTEXT}: its own graphs. */
  private static final long LONG_CONTEXT_KEY = 1L << 50;
  /**
   * Split steps of at least this many tokens (and every FP8-cache split step) take the
   * GQA-aware split kernel, a block per KV head and split: from a few tokens on, the per-head
   * split's repeated reads of each K/V row (once per query head) cost more than its shorter
   * chains save. {@code redress.cuda.gqaSplitFrom} overrides it (measurement).
   */
  static final int GQA_SPLIT_FROM = Integer.getInteger("redress.cuda.gqaSplitFrom", 2);

  /**
   * One-token steps take the tensor-core split attention (its wide twin: a block per KV head
   * and 512 keys, the other splits returning at once) rather than the per-head split, and let
   * the next kernel launch at its start: that kernel's blocks (the O projection, or the GPTQ
   * chain, whose producers then fill its ring) find most SMs free at once. One H100, same
   * call, tokens/s: 14B GPTQ 226 against 204, 0.5B 1,074 against 1,038-1,042, 14B bf16 96.3
   * against 95.0, 7B 184.6 against 183.6. {@code redress.cuda.oneTokenMma=false}: the per-head
   * split, the next kernel launched as it ends (but ahead of the chain; comparisons).
   */
  static final boolean ONE_TOKEN_MMA =
      !"false".equals(System.getProperty("redress.cuda.oneTokenMma"));
  /**
   * The cuBLAS gate/up GEMM (prompt chunks, large decode batches) writes bf16 for the SiLU
   * kernel, not fp32: half the bytes written and read again. {@code redress.cuda.gateUpBf16=
   * false}: fp32, as the other projections (measurement).
   */
  private static final boolean GATE_UP_BF16 =
      !"false".equals(System.getProperty("redress.cuda.gateUpBf16"));
  /** {@code redress.cuda.mmaAttention=false}: prompt chunks keep the CUDA-core kernel. */
  private static final boolean MMA_ATTENTION =
      !"false".equals(System.getProperty("redress.cuda.mmaAttention"));
  /** Tokens per sampling row from which a step's attention runs on the tensor cores. */
  static final int MMA_TOKENS_PER_ROW = 4;
  /**
   * Decode-heavy steps of 2 tokens or more (over an FP8 cache, of any size) take the
   * tensor-core decode kernel (a block per token, KV head and split, the group's query heads as
   * MMA rows) instead of the CUDA-core GQA kernels; {@code redress.cuda.decodeMma=false} keeps
   * those.
   */
  private static final boolean DECODE_MMA =
      !"false".equals(System.getProperty("redress.cuda.decodeMma"));
  private final int splitTokens;
  private final DeviceBuffer splitO; // split-K attention partials, up to splitTokens tokens
  private final DeviceBuffer splitMl;
  private final DeviceBuffer splitCounters;
  private final DeviceBuffer dequantScratch; // GPTQ prefill: the largest layer in bf16
  private final DeviceBuffer permScratch; // GPTQ act-order decode: (parts, tokens, k) bf16
  private final DeviceBuffer w4ggScratch; // GPTQ, 65 to 256 tokens: permuted or staged x
  /**
   * One-token GPTQ steps run each layer's O, gate/up and down projections and the next layer's
   * QKV in one launch (w4a16_chain.cu; over an FP8 cache the QKV rows, their RoPE and cache
   * write following in qkv_rope_cache_fp8): the Chain of each layer, or null where the chain
   * does not apply (not GPTQ, act-order, tensor parallelism, not Hopper) or is off
   * ({@code redress.cuda.w4Chain=false}).
   */
  private final DeviceBuffer[] chains; // by metadata set
  /**
   * Every decoder layer of a one-token bf16 step in one launch (layers_bf16.cu): its launch's
   * arguments (Kernels.layersArgs, every layer's LwLayer pointers among them, built once), or
   * null where it does not apply (GPTQ, an FP8 cache, tensor parallelism, not Hopper, shapes
   * it does not take) or is off. {@code redress.cuda.layers}:
   * {@code auto} (the default) takes it for models up to {@link #LAYERS_MAX_HIDDEN} wide,
   * {@code true} wherever it fits, {@code false} never.
   */
  private final long[][] layersArgs; // by metadata set
  /**
   * The same with the final norm, the LM head and the greedy pick in the launch (steps that
   * sample their one token): no embedding, LM head or, for a greedy unguided row, sampler
   * launch of its own.
   */
  private final long[][] layersHeadArgs;
  /**
   * The step being enqueued is one token over more keys than {@code layersMaxContext} on a
   * runner that has the launch: it takes the separate kernels, and graphs of its own.
   */
  private boolean longContext;
  /** One-token steps that ran every layer in one launch (tests). */
  private long oneLaunchSteps;
  private final DeviceBuffer layersPart; // its attention partials
  private final DeviceBuffer layersBarrier; // its grid barrier, then (at byte 128) its best
  private final int[] chainSmem; // by the step's tokens
  private final int chainGroup; // the chain's GPTQ group size (its kernel's twin)
  // Whether the strip-major scales go without zero points (every one of them 8): the chain's
  // and the many-token kernels' _z8 twins
  private final boolean scalesZ8;
  // The chain's blocks' runs in each phase, cut by cost (Kernels.w4ChainRuns); null: equal runs
  private final DeviceBuffer chainRuns;
  /** Most tokens a step may have to take the chain (its activations' shared memory). */
  private final int chainTokens;
  private final StepProfiler profiler;
  /**
   * {@code redress.cuda.profileGraphs=true}: decode steps still run as graphs, timed whole
   * (GPU time of the graph and the sampler against the host's wall time per step).
   */
  private static final boolean PROFILE_GRAPHS = Boolean.getBoolean("redress.cuda.profileGraphs");
  private boolean capturing;
  private final int maskWords;
  private DeviceBuffer maskDevice; // (maxNumSeqs, maskWords) int32, allocated on first use
  private Pointer maskHost;
  private IntBuffer maskHostInts;
  private int[] allowAll; // a padding row's mask
  /**
   * The masks' copy to the device runs on a stream of its own, beside the forward pass, and the
   * sampler waits for it by an event: on the device's stream it queued behind the forward pass
   * (1.2 MB at batch 64). {@code redress.cuda.maskStream=false}: on the device's stream.
   */
  private static final boolean MASK_STREAM =
      !"false".equals(System.getProperty("redress.cuda.maskStream"));
  private jcuda.driver.CUstream maskStream;
  private jcuda.driver.CUevent maskCopied;
  private boolean closed;

  private CudaModelRunner(ModelConfig modelConfig, Shard shard, Options options,
      CudaDevice device, Kernels kernels, Cublas cublas, CudaWeights weights) {
    this.modelConfig = modelConfig;
    this.config = shard.local(modelConfig);
    this.shard = shard;
    this.options = options;
    this.device = device;
    this.kernels = kernels;
    this.cublas = cublas;
    this.weights = weights;
    int tMax = options.maxNumBatchedTokens();
    int sMax = options.maxNumSeqs();
    long d = config.hiddenSize();
    long qs = config.qSize();
    long kv = config.kvSize();
    long inter = config.intermediateSize();
    x = device.alloc(4 * tMax * d);
    h = device.alloc(2 * tMax * d);
    qkv = device.alloc(4 * tMax * (qs + 2 * kv));
    q = device.alloc(2 * tMax * qs);
    attn = device.alloc(2 * tMax * qs);
    tp = shard.size() > 1
        ? new PeerAllReduce(device, shard.rank(), shard.size(), tMax * d, (int) d) : null;
    xAlt = tp != null ? device.alloc(4L * Kernels.FUSED_MAX_TOKENS * d) : null;
    proj = tp == null ? device.alloc(4 * tMax * d) : null;
    gateUp = device.alloc(4 * tMax * 2 * inter);
    act = device.alloc(2 * tMax * inter);
    hLast = device.alloc(2 * sMax * d);
    logits = shard.samples() ? device.alloc(4L * sMax * config.vocabSize()) : null;
    splitVocab = tp != null && shard.splitsVocab(modelConfig);
    vocabPart = (int) shard.vocabRows(modelConfig).rows();
    pickScratch = HEAD_PICK && tp == null && shard.samples() && d % 8 == 0
        ? device.alloc(Kernels.GEMV_PICK_SCRATCH_BYTES) : null;
    if (pickScratch != null) {
      cuMemsetD32Async(pickScratch.ptr(), 0, (int) (Kernels.GEMV_PICK_SCRATCH_BYTES / 4),
          device.stream());
    }
    logitsPart = splitVocab ? device.alloc(4L * sMax * vocabPart) : null;
    if (splitVocab) {
      tp.setLogitsPart(logitsPart);
    }
    maxBlocksPerSeq = (options.maxModelLen() + options.blockSize() - 1) / options.blockSize();
    small = MetaLayout.of(Math.min(tMax, SMALL_STEP_TOKENS), sMax);
    full = MetaLayout.of(tMax, sMax);
    lay = small;
    // The sampled ids come last, past what a step's copy covers in either layout (a fed
    // step's tokens are read from there).
    offSampled = full.tables() + sMax * maxBlocksPerSeq;
    setInts = offSampled + sMax;
    // Two sets on the device as on the host: a step's copy of its metadata runs while the
    // step before, reading the other set, computes (its graphs are captured once per set).
    meta = device.alloc(4L * 2 * setInts);
    cuStreamCreate(h2dStream, CUstream_flags.CU_STREAM_NON_BLOCKING);
    cuStreamCreate(d2hStream, CUstream_flags.CU_STREAM_NON_BLOCKING);
    for (int set = 0; set < 2; set++) {
      cuMemAllocHost(hostMetas[set], 4L * setInts);
      hostIntSets[set] = hostMetas[set].getByteBuffer(0, 4L * setInts)
          .order(ByteOrder.nativeOrder()).asIntBuffer();
      for (CUevent[] e : new CUevent[][] {metaCopied, setDone, sampledCopied}) {
        e[set] = new CUevent();
        cuEventCreate(e[set], CUevent_flags.CU_EVENT_DISABLE_TIMING);
      }
    }
    useMetaSet(0);

    int fusedTokens = Math.min(FUSED_TOKENS, tMax);
    kvFp8 = options.kvCacheDtype() == KvCacheDtype.FP8;
    int maxParts = weights.layers.stream().flatMap(l -> l.quantized().stream())
        .filter(q -> q.perm() != null).mapToInt(CudaWeights.Q4::parts).max().orElse(0);
    // Tensor parallelism fuses bf16 layers only (its kernels push partial sums to the peers).
    boolean fusable = weights.quantized()
        ? tp == null && weights.allQuantized() && kernels.w4FusedFits(fusedTokens, (int) d,
            config.headDim(), (int) inter, maxParts)
        : kernels.fusedFits(fusedTokens, (int) d) && qs % 8 == 0 && inter % 8 == 0;
    // Over an FP8 cache the fused path keeps its QKV step unfused; tensor parallelism's fused
    // kernels (the QKV one sums the peers' partials) take a bf16 cache only.
    fused = !"false".equals(System.getProperty("redress.cuda.fused")) && useGemv
        && (!kvFp8 || tp == null) && fusable;
    if (fused) {
      kernels.prepareFused((int) d, fusedTokens);
      if (weights.quantized()) {
        kernels.prepareW4Fused();
      }
    }
    if (fused && weights.quantized()
        && !"false".equals(System.getProperty("redress.cuda.residNorm"))) {
      // The group sums, then the barrier word (zero at first use).
      residNormScratch = device.alloc(residNormSumBytes() + 4);
      cuMemsetD32Async(residNormScratch.at(residNormSumBytes()), 0, 1, device.stream());
    } else {
      residNormScratch = null;
    }
    splitTokens = !splitAttention ? 0 : !useGemv ? (fused ? fusedTokens : 0)
        : Math.max(fused ? fusedTokens : 0, Math.min(SPLIT_TOKENS, tMax));
    if (splitTokens > 0) {
      long partials = Kernels.attentionSplitFloats(splitTokens, config.numHeads(),
          config.headDim());
      splitO = device.alloc(4 * partials);
      splitMl = device.alloc(4 * partials / config.headDim() * 2);
      splitCounters = device.alloc(4L * splitTokens * config.numHeads());
      cuMemsetD32Async(splitCounters.ptr(), 0, (long) splitTokens * config.numHeads(),
          device.stream());
    } else {
      splitO = splitMl = splitCounters = null;
    }

    String layersProp = System.getProperty("redress.cuda.layers", "auto");
    boolean layersKernel = fused && !weights.quantized() && tp == null && !kvFp8
        && !"false".equals(layersProp) && ("true".equals(layersProp) || d <= LAYERS_MAX_HIDDEN)
        && weights.layers.stream().allMatch(l -> l.qkvBias() != null)
        && kernels.layersFit((int) d, (int) inter, (int) qs, config.headDim(),
            config.numLayers());
    if (layersKernel) {
      layersPart = device.alloc(
          4L * config.numHeads() * Kernels.LAYERS_RUNS * (config.headDim() + 4));
      layersBarrier = device.alloc(128 + 4L * Kernels.LAYERS_BEST_WORDS);
      cuMemsetD32Async(layersBarrier.ptr(), 0, 32 + Kernels.LAYERS_BEST_WORDS, device.stream());
    } else {
      layersPart = layersBarrier = null;
    }

    long dequantElems = 0;
    long permElems = 0;
    long w4ggElems = 0;
    for (CudaWeights.Layer layer : weights.layers) {
      for (CudaWeights.Q4 w : layer.quantized()) {
        dequantElems = Math.max(dequantElems, (long) w.rows() * w.k());
        if (w.perm() == null && kernels.w4WgmmaFits(w.rows(), w.k(), w.group())) {
          w4ggElems = Math.max(w4ggElems, (long) Kernels.W4GG_MAX_TOKENS * w.k());
        }
        if (w.perm() == null && kernels.w4WsFits(w.rows(), w.k(), w.group())) {
          w4ggElems = Math.max(w4ggElems, (long) Kernels.W4WS_MAX_TOKENS * w.k());
        }
        if (w.perm() != null) {
          permElems = Math.max(permElems, (long) w.parts() * Kernels.W4_MAX_TOKENS * w.k());
        }
      }
    }
    // Sized once for the largest layer: prefill dequantizes one layer at a time.
    dequantScratch = dequantElems > 0 ? device.alloc(2 * dequantElems) : null;
    permScratch = permElems > 0 ? device.alloc(2 * permElems) : null;
    w4ggScratch = w4ggElems > 0 ? device.alloc(2 * w4ggElems) : null;
    // The chain's strip-major scales (about 6 % of the codes at group 128) before the KV cache
    // takes what memory is left; its Chains once the cache is placed.
    chainGroup = weights.quantized() ? weights.layers.get(0).qkvQ().group() : 0;
    int chainMaxK = (int) Math.max(d, Math.max(qs, inter));
    boolean chain = fused && weights.quantized() && maxParts == 0
        && !"false".equals(System.getProperty("redress.cuda.w4Chain"))
        && weights.layers.stream().flatMap(l -> l.quantized().stream())
            .allMatch(q -> q.group() == chainGroup)
        && kernels.w4ChainFits(chainGroup, chainMaxK);
    // The many-token kernels' _szs twins read them too (fewer instructions a pair than the
    // row-major scales), so fused GPTQ steps have them with or without the chain.
    // redress.cuda.stripScales=false keeps them to the chain, for comparison.
    boolean manyScales = !"false".equals(System.getProperty("redress.cuda.stripScales"));
    boolean stripScales = chain || fused && weights.quantized() && maxParts == 0 && manyScales
        && weights.layers.stream().flatMap(l -> l.quantized().stream())
            .allMatch(q -> Kernels.stripScaleGroup(q.group()));
    List<DeviceBuffer[]> chainScales = new ArrayList<>();
    // Symmetric GPTQ (every zero point 8, as in Qwen's GPTQ-Int4 checkpoints): the strip-major
    // scales go without the zero points, 2 bytes a row's group against 4, so a stage of the
    // chain streams 3 % fewer bytes. redress.cuda.scalesZ8=false keeps them, for comparison.
    scalesZ8 = stripScales && !"false".equals(System.getProperty("redress.cuda.scalesZ8"))
        && zerosAllEight(weights);
    if (stripScales) {
      for (CudaWeights.Layer layer : weights.layers) {
        CudaWeights.Q4[] qs4 = {layer.oQ(), layer.gateUpQ(), layer.downQ(), layer.qkvQ()};
        DeviceBuffer[] scales = new DeviceBuffer[qs4.length];
        for (int i = 0; i < qs4.length; i++) {
          scales[i] = device.alloc(Kernels.w4ChainScaleBytes(qs4[i], scalesZ8));
          kernels.w4ChainScales(qs4[i], scales[i].ptr(), scalesZ8);
        }
        chainScales.add(scales);
      }
      if (manyScales) {
        weights.attachStripScales(chainScales, scalesZ8);
      }
    }
    if (chain) {
      chainTokens = kernels.w4ChainTokens(chainGroup, chainMaxK, scalesZ8);
      // Each step takes only its own tokens' room: a batch-1 chain sized for two tokens left
      // the attention between two chains less of each SM and ran 3-4 % slower (14B, one H100).
      chainSmem = new int[chainTokens + 1];
      for (int t = 1; t <= chainTokens; t++) {
        chainSmem[t] = kernels.w4ChainSmem(chainGroup, chainMaxK, t, scalesZ8);
      }
      kernels.prepareW4Chain(chainGroup, scalesZ8, chainSmem[chainTokens]);
      // redress.cuda.chainRuns=equal: the kernel's equal runs of input pairs (comparisons).
      // The last phase leaves a block free for each of the next attention's blocks (a block a
      // token and KV head; redress.cuda.chainFreeLast, 0 for none): they used to find no SM
      // until the chain had ended, and looked up their first keys' slots (about 1.7 us) only
      // then. One H100, decode tokens/s against none freed in the same call: 14B GPTQ batch 1
      // 281.6 / 281.5 (8 freed) and 281.6 (16) against 280.7 / 280.8, in another call 280.9 /
      // 280.3 (16) against 280.5 / 280.2; batch 2 (16) 270.1 against 268.6; 7B (4) 494.9
      // against 490.9.
      if ("equal".equals(System.getProperty("redress.cuda.chainRuns"))) {
        chainRuns = null;
      } else {
        int[] runs = kernels.w4ChainRuns(
            new int[] {(int) qs / 64, (int) d / 64, (int) inter / 64, (int) d / 64},
            new int[] {(int) d / 32, (int) inter / 16, (int) d / 32,
                (int) (qs + 2 * kv) / 32},
            Integer.numberOfTrailingZeros(chainGroup / 64),
            Integer.getInteger("redress.cuda.chainFreeLast",
                config.numKvHeads() * chainTokens));
        chainRuns = device.alloc(4L * runs.length);
        cuMemcpyHtoD(chainRuns.ptr(), Pointer.to(runs), 4L * runs.length);
      }
    } else {
      chainTokens = 0;
      chainSmem = null;
      chainRuns = null;
    }

    // Per token and layer: K and V rows, bf16; or e4m3 plus an fp16 scale per KV head each.
    long bytesPerToken = kvFp8 ? 2L * (kv + 2L * config.numKvHeads()) : 2L * 2 * kv;
    long bytesPerBlock = config.numLayers() * options.blockSize() * bytesPerToken;
    if (options.numBlocks() > 0) {
      numBlocks = options.numBlocks();
    } else {
      long[] info = device.memInfo();
      long budget = (long) (options.kvCacheFraction() * info[1]) - (info[1] - info[0]);
      numBlocks = (int) Math.min(Integer.MAX_VALUE, Math.max(0, budget) / bytesPerBlock);
      if (numBlocks < maxBlocksPerSeq) {
        throw new IllegalStateException("GPU memory left for the KV cache holds " + numBlocks
            + " blocks, fewer than one sequence of " + options.maxModelLen() + " tokens needs;"
            + " raise kvCacheFraction, lower maxModelLen or maxNumBatchedTokens");
      }
    }
    graphs = new DecodeGraphs(device, Math.min(options.maxNumSeqs(), tMax));
    profiler = StepProfiler.ENABLED || PROFILE_GRAPHS ? new StepProfiler(device.stream()) : null;
    maskWords = (config.vocabSize() + 31) / 32;
    long slotsTotal = (long) numBlocks * options.blockSize();
    kvLayerBytes = slotsTotal * bytesPerToken;
    kvValueOffset = slotsTotal * kv * (kvFp8 ? 1 : 2);
    kvScaleOffset = 2 * kvValueOffset;
    kvCache = device.alloc(kvLayerBytes * config.numLayers());
    chains = chain ? new DeviceBuffer[] {buildChains(chainScales, chainGroup, 0),
        buildChains(chainScales, chainGroup, 1)} : null;
    boolean head = !"false".equals(System.getProperty("redress.cuda.layersHead"));
    layersArgs = layersKernel ? new long[2][] : null;
    layersHeadArgs = layersKernel && head ? new long[2][] : null;
    long[] layerWords = layersKernel ? buildLayers() : null;
    for (int set = 0; layersKernel && set < 2; set++) {
      // one-token steps: the small layout; fed ids from the other set's samples
      layersArgs[set] = Kernels.layersArgs(layerWords, x.ptr(), qkv.ptr(), layersPart.ptr(),
          act.ptr(), layersBarrier.ptr(), metaAt(set, 0), metaAt(set ^ 1, offSampled),
          metaAt(set, small.positions()), metaAt(set, small.slots()),
          metaAt(set, small.tables()), weights.embed.ptr(), weights.finalNorm.ptr(),
          weights.lmHead.ptr(), logits.ptr(), metaAt(set, offSampled), layersBarrier.at(128),
          (float) config.rmsNormEps(), (float) config.ropeTheta(), config.numLayers(), (int) d,
          (int) inter, config.numHeads(), config.numKvHeads(), options.blockSize(),
          config.vocabSize());
      if (head) {
        layersHeadArgs[set] = Kernels.layersWithHead(layersArgs[set]);
      }
    }
    LOG.info("CUDA runner on {}: weights and buffers {} MB, KV cache {} blocks ({} MB, {}),"
        + " {} launches", device.name(), (device.allocatedBytes() - kvCache.bytes()) >> 20,
        numBlocks, kvCache.bytes() >> 20, kvFp8 ? "fp8 e4m3" : "bf16",
        kernels.pdl() ? "programmatic dependent" : "plain");
  }

  /**
   * Whether the GPTQ kernels read strip-major scales without zero points (every one of the
   * model's is 8; {@code redress.cuda.scalesZ8=false} keeps them): 2 bytes a row's group of
   * scales instead of 4 (tests; the decode benchmark's roofline).
   */
  public boolean usesScalesZ8() {
    return scalesZ8;
  }

  /** Whether every zero point of every GPTQ projection of the model is 8 (sym quantization). */
  private boolean zerosAllEight(CudaWeights weights) {
    DeviceBuffer flag = device.alloc(4);
    try {
      return kernels.w4ZerosAllEight(
          weights.layers.stream().flatMap(l -> l.quantized().stream()).toList(), flag);
    } finally {
      device.free(flag);
    }
  }

  /**
   * Every layer's Chain (w4a16_chain.cu) in device memory: its O (input attn), gate/up
   * (normed x, output act) and down (input act) projections, then the next layer's QKV (normed
   * x; q, that layer's K/V cache), the residual stream x throughout. scales[l]: the strip-major
   * scales of layer l's O, gate/up, down and QKV projections. The steps' positions and slots
   * are metadata set {@code set}'s.
   */
  private DeviceBuffer buildChains(List<DeviceBuffer[]> scales, int group, int set) {
    int layers = config.numLayers();
    int d = config.hiddenSize();
    int inter = config.intermediateSize();
    int headDim = config.headDim();
    ByteBuffer b = ByteBuffer.allocate(Kernels.CHAIN_BYTES * layers)
        .order(ByteOrder.LITTLE_ENDIAN);
    long scratch = kernels.w4ChainScratchBytes();
    DeviceBuffer barrier = device.alloc(scratch);
    cuMemsetD32Async(barrier.ptr(), 0, scratch / 4, device.stream());
    for (int l = 0; l < layers; l++) {
      CudaWeights.Layer w = weights.layers.get(l);
      int base = Kernels.CHAIN_BYTES * l;
      chainPhase(b, base, 0, w.oQ(), scales.get(l)[0], Kernels.CHAIN_RESID, attn.address(), 0,
          0, 0, 0, 0, 0, 0, w.oQ().rows() / 2);
      chainPhase(b, base, 1, w.gateUpQ(), scales.get(l)[1], Kernels.CHAIN_SILU, 0,
          w.postNorm().address(), act.address(), 0, 0, 0, 0, 0, inter);
      chainPhase(b, base, 2, w.downQ(), scales.get(l)[2], Kernels.CHAIN_RESID, act.address(), 0,
          0, 0, 0, 0, 0, 0, w.downQ().rows() / 2);
      int phases = 3;
      if (l + 1 < layers) {
        CudaWeights.Layer next = weights.layers.get(l + 1);
        if (kvFp8) { // the rows for qkv_rope_cache_fp8, which runs after the chain
          chainPhase(b, base, 3, next.qkvQ(), scales.get(l + 1)[3], Kernels.CHAIN_ROWS, 0,
              next.inputNorm().address(), 0, 0, 0, 0, 0, qkv.address(),
              next.qkvQ().rows() / 2);
        } else {
          long kc = kvCache.address() + kvLayerBytes * (l + 1);
          chainPhase(b, base, 3, next.qkvQ(), scales.get(l + 1)[3], Kernels.CHAIN_QKV, 0,
              next.inputNorm().address(), 0, next.qkvBias().address(), q.address(), kc,
              kc + kvValueOffset, 0, (config.numHeads() + 2 * config.numKvHeads())
                  * (headDim / 2));
        }
        phases = 4;
      }
      int at = base + Kernels.CHAIN_PHASES * Kernels.CHAIN_PHASE_BYTES;
      b.putLong(at, x.address());
      // chain steps are small
      b.putLong(at + 8, meta.address() + 4L * ((long) set * setInts + small.positions()));
      b.putLong(at + 16, meta.address() + 4L * ((long) set * setInts + small.slots()));
      b.putLong(at + 24, barrier.address());
      b.putFloat(at + 32, (float) config.rmsNormEps());
      b.putFloat(at + 36, (float) config.ropeTheta());
      int[] ints = {phases, d, group, inter, config.numHeads(), config.numKvHeads(), headDim};
      for (int i = 0; i < ints.length; i++) {
        b.putInt(at + 40 + 4 * i, ints[i]);
      }
    }
    DeviceBuffer out = device.alloc(b.capacity());
    cuMemcpyHtoD(out.ptr(), Pointer.to(b.array()), b.capacity());
    device.synchronize(); // a copy from pageable memory may still be in flight
    return out;
  }

  /** Whether one-token steps run every layer in one launch (layers_bf16.cu). */
  boolean allLayersInOneLaunch() {
    return layersArgs != null;
  }

  /** Every layer's LwLayer pointers (layers_bf16.cu), in order. */
  private long[] buildLayers() {
    int layers = config.numLayers();
    long[] out = new long[Kernels.LAYER_WORDS * layers];
    for (int l = 0; l < layers; l++) {
      CudaWeights.Layer w = weights.layers.get(l);
      long kc = kvCache.address() + kvLayerBytes * l;
      long[] ptrs = {w.qkvWeight().address(), w.qkvBias().address(), w.oWeight().address(),
          w.gateUpWeight().address(), w.downWeight().address(), w.inputNorm().address(),
          w.postNorm().address(), kc, kc + kvValueOffset};
      System.arraycopy(ptrs, 0, out, Kernels.LAYER_WORDS * l, ptrs.length);
    }
    return out;
  }

  /** Writes phase {@code i} of the Chain at {@code base} (w4a16_chain.cu's ChainPhase). */
  private static void chainPhase(ByteBuffer b, int base, int i, CudaWeights.Q4 w,
      DeviceBuffer scales, int kind, long a, long normW, long act, long bias, long qOut,
      long kCache, long vCache, long y, int units) {
    int at = base + i * Kernels.CHAIN_PHASE_BYTES;
    long[] ptrs = {w.codes().address(), scales.address(), a, normW, act, bias, qOut, kCache,
        vCache, y};
    for (int j = 0; j < ptrs.length; j++) {
      b.putLong(at + 8 * j, ptrs[j]);
    }
    b.putInt(at + 80, kind);
    b.putInt(at + 84, w.k());
    b.putInt(at + 88, w.rows());
    b.putInt(at + 92, units);
  }

  /** Whether a fused step of this many tokens runs its layers through the chain. */
  private boolean chainStep(int tokens) {
    return chains != null && tokens <= chainTokens;
  }

  /** The weights on the GPU (tests that set some of them). */
  CudaWeights weights() {
    return weights;
  }

  /** Whether one-token steps run the chain (tests). */
  boolean usesW4Chain() {
    return chains != null;
  }

  /** Loads a model directory onto GPU {@code options.device()}. */
  public static CudaModelRunner load(Path modelDir, Options options) {
    return load(modelDir, options, Shard.WHOLE);
  }

  /** Loads {@code shard}'s part of a model directory onto GPU {@code options.device()}. */
  static CudaModelRunner load(Path modelDir, Options options, Shard shard) {
    ModelConfig config = ModelConfig.load(modelDir);
    GptqConfig gptq = GptqConfig.load(modelDir).orElse(null);
    checkAttention(config, options);
    CudaDevice device = CudaDevice.open(options.device());
    try (SafeTensors st = SafeTensors.open(modelDir)) {
      Kernels kernels = new Kernels(device.stream());
      Cublas cublas = new Cublas(device);
      CudaWeights weights = CudaWeights.load(device, config, shard, st, gptq);
      return new CudaModelRunner(config, shard, options, device, kernels, cublas, weights);
    } catch (RuntimeException e) {
      device.close();
      throw e;
    }
  }

  /** Fails before any loading where the attention kernels cannot take the model's heads. */
  private static void checkAttention(ModelConfig config, Options options) {
    Kernels.checkAttention(config.headDim(), config.numHeads(), config.numKvHeads());
  }

  /** A model of this architecture with random bf16 weights drawn on the GPU (benchmarks). */
  public static CudaModelRunner random(ModelConfig config, Options options, long seed) {
    return random(config, options, seed, 0);
  }

  /**
   * A model of this architecture with random weights drawn on the GPU (benchmarks): bf16, or
   * with {@code gptqGroup > 0} GPTQ int4 projections in groups of that many inputs.
   */
  public static CudaModelRunner random(ModelConfig config, Options options, long seed,
      int gptqGroup) {
    return random(config, options, seed, gptqGroup, Shard.WHOLE);
  }

  /** {@link #random(ModelConfig, Options, long, int)}, only {@code shard}'s part. */
  static CudaModelRunner random(ModelConfig config, Options options, long seed, int gptqGroup,
      Shard shard) {
    checkAttention(config, options);
    CudaDevice device = CudaDevice.open(options.device());
    try {
      Kernels kernels = new Kernels(device.stream());
      Cublas cublas = new Cublas(device);
      CudaWeights weights = CudaWeights.random(device, kernels, config, shard, seed, gptqGroup);
      return new CudaModelRunner(config, shard, options, device, kernels, cublas, weights);
    } catch (RuntimeException e) {
      device.close();
      throw e;
    }
  }

  @Override
  public ModelConfig config() {
    return modelConfig;
  }

  @Override
  public int numBlocks() {
    return numBlocks;
  }

  @Override
  public int blockSize() {
    return options.blockSize();
  }

  @Override
  public boolean prefersUniformDecodeSteps() {
    return true;
  }

  @Override
  public String device() {
    return "cuda:" + device.ordinal() + " (" + device.name() + ")";
  }

  /** Device bytes held (weights, buffers, KV cache). */
  public long deviceBytes() {
    return device.allocatedBytes();
  }

  public CudaDevice cudaDevice() {
    return device;
  }

  @Override
  public int[] step(Step step) {
    int rows = forward(step);
    int[] out = new int[rows];
    hostInts.get(offSampled, out);
    return out;
  }

  @Override
  public boolean pipelines() {
    // Profiled steps time each operation by events; tensor parallelism runs ranks in lockstep.
    return PIPELINE && profiler == null && tp == null;
  }

  @Override
  public void submit(Step step) {
    if (!pipelines()) {
      throw new UnsupportedOperationException("this runner does not pipeline steps");
    }
    ModelRunner.checkSubmit(step, submitted.size(),
        submitted.isEmpty() ? 0 : submitted.peekLast().rows());
    device.makeCurrent();
    flushSample(); // the step before samples ahead of this one's forward pass
    int rows = enqueue(step);
    submitted.addLast(new Submitted(metaSet, rows, step.masks() != null ? 1 : 0));
  }

  @Override
  public int[] collect() {
    Submitted s = submitted.pollFirst();
    if (s == null) {
      throw new IllegalStateException("no step submitted");
    }
    device.makeCurrent();
    if (pendingSample != null && pendingSample.set() == s.set()) {
      flushSample(); // this step's own (a later one's waits: its masks need these ids)
    }
    long t0 = System.nanoTime();
    cuEventSynchronize(sampledCopied[s.set()]);
    hostTimes[s.guided()][3] += System.nanoTime() - t0;
    int[] out = new int[s.rows()];
    hostIntSets[s.set()].get(offSampled, out);
    return out;
  }

  @Override
  public void abandon() {
    submitted.clear();
    pendingSample = null;
    device.makeCurrent();
    device.synchronize();
    cuStreamSynchronize(h2dStream);
    cuStreamSynchronize(d2hStream);
  }

  /** Runs a step and returns each sampling sequence's logits (tests). */
  public float[] stepLogits(Step step) {
    int rows = forward(step);
    float[] out = new float[rows * config.vocabSize()];
    Pointer host = Pointer.to(out);
    jcuda.driver.JCudaDriver.cuMemcpyDtoH(host, logits.ptr(), 4L * out.length);
    return out;
  }

  /** The ids the last step run by {@link #stepLogits} sampled, its first {@code rows} (tests). */
  int[] lastSampled(int rows) {
    int[] out = new int[rows];
    hostInts.get(offSampled, out);
    return out;
  }

  /** This rank's all-reduce (tensor parallelism), or null. */
  PeerAllReduce allReduce() {
    return tp;
  }

  /**
   * Runs the model and, on a rank that samples, the sampler; returns the number of sampled
   * rows.
   */
  int forward(Step step) {
    return forward(step, true);
  }

  /** Whether {@code step} replays a graph: one launch, nothing for the host to wait on. */
  boolean runsAsGraph(Step step) {
    return graphShape(step) != null;
  }

  /**
   * A captured graph's shape: padded tokens and sampling rows, and its key.
   *
   * @param key the graph's key in {@link DecodeGraphs}
   * @param tokens tokens the graph computes (the step's, then padding)
   * @param rows sampling rows (the step's, then padding)
   */
  private record GraphShape(long key, int tokens, int rows) {}

  /**
   * Token counts of the graphs for steps other than pure decodes (prompt chunks, mixed with
   * decodes or not). Eagerly, a small model's such step cost about 4 ms of host launches
   * against 1.6-1.8 ms for a replayed decode graph (0.5B on the H100); larger steps are
   * compute-bound and run eagerly.
   */
  private static final int[] MIXED_TOKENS = {16, 32, 64, 128, 256, 512, 1024};
  /** {@code redress.cuda.mixedGraphs=false}: only pure decode steps replay graphs. */
  private static final boolean MIXED_GRAPHS =
      !"false".equals(System.getProperty("redress.cuda.mixedGraphs"));

  /** {@code redress.cuda.warmUp=false}: each decode graph is captured at its first step. */
  private static final boolean WARM_UP =
      !"false".equals(System.getProperty("redress.cuda.warmUp"));

  /** {@link #enqueueForward} into a graph being captured. */
  private void enqueueCaptured(int tokens, int rows) {
    lay = layoutFor(tokens); // (warm-up captures without a step's metadata)
    capturing = true; // no profiling events inside a captured graph
    try {
      enqueueForward(tokens, rows);
    } finally {
      capturing = false;
    }
  }

  /**
   * Captures the graph of every pure decode bucket now (each takes a few ms to capture and
   * instantiate, which the first step of each batch size paid while serving). Graphs capture
   * launches only, so no step's data is needed; the other steps' graphs (prompt chunks by
   * token count and sampling rows, too many shapes) stay lazy.
   */
  @Override
  public void warmUp() {
    if (profiler != null && !PROFILE_GRAPHS || !WARM_UP) {
      return; // eager steps, or lazy capture asked for
    }
    device.makeCurrent();
    long t0 = System.nanoTime();
    int[] buckets = graphs.decodeBuckets();
    int captured = 0;
    int set0 = metaSet;
    for (int set = 0; set < 2; set++) {
      useMetaSet(set);
      for (int b : buckets) {
        if (graphs.capture(graphKey(b), () -> enqueueCaptured(b, b)) && set == 0) {
          captured++;
        }
      }
      if (layersArgs != null && buckets.length > 0 && buckets[0] == 1) {
        longContext = true; // batch 1 past LAYERS_MAX_CONTEXT: the separate kernels' graph
        graphs.capture(graphKey(1), () -> enqueueCaptured(1, 1));
        longContext = false;
      }
    }
    useMetaSet(set0);
    if (captured > 0) {
      LOG.info("captured {} decode graphs (batch 1 to {}) in {} ms", captured,
          buckets[buckets.length - 1], (System.nanoTime() - t0) / 1_000_000);
    }
  }

  /**
   * Shapes whose graphs are captured so far (tests): each has a graph per metadata set, and
   * batch 1 on the one launch a long-context twin besides ({@link #graphKey}).
   */
  int capturedGraphs() {
    return (int) graphs.keys().stream().map(k -> (k >> 1) & ~LONG_CONTEXT_KEY).distinct()
        .count();
  }

  /**
   * The graph of a shape's key in the metadata set of the step being enqueued (and, for a
   * one-token step past {@link #LAYERS_MAX_CONTEXT}, its long-context twin).
   */
  private long graphKey(long shapeKey) {
    return 2 * (shapeKey | (longContext ? LONG_CONTEXT_KEY : 0)) + metaSet;
  }

  /** The graph {@code step} replays, or null to run it kernel by kernel. */
  private GraphShape graphShape(Step step) {
    if (profiler != null && !PROFILE_GRAPHS) {
      return null;
    }
    int tokens = step.tokenIds().length;
    int seqs = step.seqs().size();
    int rows = step.numSampling();
    if (tokens == seqs && rows == seqs) {
      int b = graphs.bucketFor(seqs);
      return b > 0 ? new GraphShape(b, b, b) : null;
    }
    if (!MIXED_GRAPHS) {
      return null;
    }
    int padRows = rows == 0 ? 0 : graphs.bucketFor(rows);
    if (rows > 0 && padRows == 0) {
      return null;
    }
    int need = tokens + padRows - rows; // every padding row reads a padding token of its own
    for (int t : MIXED_TOKENS) {
      if (t >= need) {
        return t > options.maxNumBatchedTokens() ? null
            : new GraphShape(((long) t << 32) | padRows, t, padRows);
      }
    }
    return null;
  }

  /**
   * {@link #forward(Step)}; with {@code wait} false a rank that does not sample returns once
   * its work is enqueued ({@link #synchronize()} waits for it).
   */
  int forward(Step step, boolean wait) {
    if (!submitted.isEmpty()) {
      throw new IllegalStateException("steps are submitted: collect them first");
    }
    device.makeCurrent();
    int rows = enqueue(step);
    if (!wait && !shard.samples()) {
      return rows;
    }
    long t3 = System.nanoTime();
    device.synchronize();
    cuEventSynchronize(sampledCopied[metaSet]); // (from its own stream)
    hostTimes[step.masks() != null ? 1 : 0][3] += System.nanoTime() - t3;
    if (profiler != null) {
      profiler.end(System.nanoTime() - enqueuedAt);
    }
    return rows;
  }

  private long enqueuedAt;

  /**
   * Enqueues a step: its metadata (from the next set of host copies), the forward pass, the
   * sampler and the copy of the sampled ids to the host, then records that set's
   * sampledCopied. Returns the number of sampled rows.
   */
  private int enqueue(Step step) {
    useMetaSet(metaSet ^ 1);
    int tokens = step.tokenIds().length;
    int seqs = step.seqs().size();
    if (tokens > options.maxNumBatchedTokens() || seqs > options.maxNumSeqs()) {
      throw new IllegalArgumentException("step of " + tokens + " tokens / " + seqs
          + " sequences exceeds the runner's " + options.maxNumBatchedTokens() + " / "
          + options.maxNumSeqs());
    }
    GraphShape shape = graphShape(step);
    longContext = layersArgs != null && tokens == 1
        && step.seqs().get(0).startPos() + 1 > layersMaxContext;
    if (allLayers(tokens, fused)) {
      oneLaunchSteps++;
    }
    long t0 = System.nanoTime();
    int rows = step.numSampling();
    int sampleRows;
    if (shape != null) {
      // One captured graph per padded shape replaces ~10 launches per layer: pure decode steps
      // by batch size, other steps by token count and sampling rows.
      writeMetadata(step, shape.tokens(), shape.rows());
      if (profiler != null) {
        profiler.begin();
      }
      if (!submitted.isEmpty() && !graphs.has(graphKey(shape.key()))) {
        device.synchronize(); // capture with nothing in flight
      }
      graphs.launch(graphKey(shape.key()), () -> enqueueCaptured(shape.tokens(), shape.rows()));
      mark(shape.tokens() == shape.rows() ? "decode graph" : "mixed graph");
      sampleRows = shape.rows();
    } else {
      writeMetadata(step, 0, 0);
      if (profiler != null) {
        profiler.begin();
      }
      enqueueForward(tokens, rows);
      sampleRows = rows;
    }
    long t1 = System.nanoTime();
    hostTimes[step.masks() != null ? 1 : 0][0] += t1 - t0;
    enqueuedAt = t0;
    if (step.fed() > 0 && step.masks() != null) {
      // Its masks need the tokens of the step before, which the engine has not collected yet:
      // it samples at the next submit or at its collect (flushSample), the forward pass
      // running meanwhile.
      pendingSample = new PendingSample(metaSet, lay, rows, sampleRows, step.masks());
      return rows;
    }
    sample(metaSet, lay, rows, sampleRows, step.masks(),
        headSampled(step, shape != null ? shape.tokens() : tokens, sampleRows));
    return rows;
  }

  /** The sampling a fed guided step left for later ({@link #sample}'s arguments). */
  private record PendingSample(int set, MetaLayout lay, int rows, int sampleRows,
      java.util.concurrent.CompletableFuture<int[]> masks) {}

  private PendingSample pendingSample;

  /** Enqueues the sampling a fed guided step left for later, if any. */
  private void flushSample() {
    if (pendingSample != null) {
      PendingSample p = pendingSample;
      pendingSample = null;
      sample(p.set(), p.lay(), p.rows(), p.sampleRows(), p.masks(), false);
    }
  }

  /**
   * The sampler over the logits of the step enqueued last (rows of {@code sampleRows}, the
   * first {@code rows} real), with its guided masks once they are done, the sampled ids' copy
   * into host set {@code set}, and that set's sampledCopied event; the step's metadata lies as
   * {@code at} says. {@code picked}: the forward pass wrote the ids already
   * ({@link #headSampled}).
   */
  private void sample(int set, MetaLayout at, int rows, int sampleRows,
      java.util.concurrent.CompletableFuture<int[]> masksFuture, boolean picked) {
    int guided = masksFuture != null ? 1 : 0;
    boolean samples = rows > 0 && shard.samples();
    if (samples) {
      // The GPU runs the forward pass while the host waits here for the guided masks.
      CUdeviceptr maskPtr = null;
      if (masksFuture != null) {
        long t1 = System.nanoTime();
        int[] masks = masksFuture.join();
        long t2 = System.nanoTime();
        maskPtr = uploadMasks(masks, rows, sampleRows);
        hostTimes[1][1] += t2 - t1;
        hostTimes[1][2] += System.nanoTime() - t2;
      }
      int sMax = options.maxNumSeqs();
      if (!picked) {
        kernels.sample(logits.ptr(), config.vocabSize(), maskPtr, maskWords,
            metaAt(set, at.floats()), metaAt(set, at.topK()), metaAt(set, at.floats() + sMax),
            metaAt(set, at.floats() + 2 * sMax), metaAt(set, offSampled), sampleRows);
        mark("sample");
      }
    }
    // The ids' copy runs from its own stream: the next step's forward pass starts at once.
    cuEventRecord(setDone[set], device.stream());
    cuStreamWaitEvent(d2hStream, setDone[set], 0);
    if (samples) {
      cuMemcpyDtoHAsync(hostMetas[set].withByteOffset(4L * offSampled),
          metaAt(set, offSampled), 4L * rows, d2hStream);
    }
    cuEventRecord(sampledCopied[set], d2hStream);
    timedSteps[guided]++;
  }

  private void useMetaSet(int set) {
    metaSet = set;
    hostMeta = hostMetas[set];
    hostInts = hostIntSets[set];
  }

  /** Waits for the work {@code forward(step, false)} enqueued. */
  void synchronize() {
    device.makeCurrent();
    device.synchronize();
  }

  private static String ms(long nanos, long steps) {
    return steps == 0 ? "-" : String.format(java.util.Locale.ROOT, "%.3f", nanos / 1e6 / steps);
  }

  // Host time of the steps, summed (logged at close), [unguided, guided]: launch, wait for the
  // guided masks, their copy to pinned memory and upload, wait for the GPU.
  private final long[][] hostTimes = new long[2][4];
  private final long[] timedSteps = new long[2];

  private void mark(String op) {
    if (profiler != null && !capturing) {
      profiler.mark(op);
    }
  }

  /**
   * Whether the step being enqueued takes one token a sequence (every token samples, as in a
   * pure decode step and its graphs): then every key before a token's own was written by an
   * earlier step, and the decode attention stages them before it waits for the QKV kernel.
   */
  private boolean oneTokenEach;
  /**
   * {@code redress.cuda.fusedHead=true}: a fused step's final norm and LM head in one launch
   * (gemv_rmsnorm_bf16) instead of the norm, then gemv_bf16. The separate GEMV streams the LM
   * head faster (493 against 517 us at 14B, docs/benchmarks/h100/gemv-qwen2.5-14b.md) than the
   * norm's launch costs: one H100, same call, 14B GPTQ batch 1 280.1 decode tokens/s a
   * sequence against 277.3, batch 2 524 against 519 tokens/s, 7B 483 against 477; bf16 7B 185
   * either way.
   */
  private static final boolean FUSED_HEAD = Boolean.getBoolean("redress.cuda.fusedHead");
  /**
   * {@code redress.cuda.headPick=false}: a fused step's LM head GEMV (one or two sampling rows,
   * one GPU) no longer picks each row's greedy id, and every step launches the sampler. With
   * the pick, a greedy, unguided step launches no sampler ({@link #headSampled}).
   */
  private static final boolean HEAD_PICK =
      !"false".equals(System.getProperty("redress.cuda.headPick"));
  /** {@code redress.cuda.earlyKeys=false}: the decode attention stages no keys before its wait. */
  private static final boolean EARLY_KEYS =
      !"false".equals(System.getProperty("redress.cuda.earlyKeys"));

  /** Launches one forward pass over {@code tokens} tokens and samples {@code rows} rows. */
  private void enqueueForward(int tokens, int rows) {
    // A sequence's tokens but its last sample nothing, so rows == tokens only where each
    // sequence brings one (mixed graphs always pad more tokens than rows).
    oneTokenEach = EARLY_KEYS && rows == tokens;
    boolean fusedStep = fusedStep(tokens);
    if (!allLayers(tokens, fusedStep)) { // layers_bf16 reads the embedding row itself
      kernels.embedding(metaAt(0), metaAt(metaSet ^ 1, offSampled), weights.embed.ptr(), x.ptr(),
          config.hiddenSize(), tokens);
      mark("embedding");
    }
    if (fusedStep && tp != null) {
      enqueueFusedTp(tokens, rows);
    } else {
      enqueueLayers(tokens, rows, fusedStep);
    }
  }

  /** Whether a step of these tokens takes the fused path (gemv_fused.cu, w4a16_fused.cu). */
  private boolean fusedStep(int tokens) {
    return fused && tokens <= (weights.quantized() ? W4_FUSED_TOKENS : FUSED_TOKENS);
  }

  /** Whether a step of these tokens runs every layer in one launch (layers_bf16.cu). */
  private boolean allLayers(int tokens, boolean fusedStep) {
    return fusedStep && tokens == 1 && layersArgs != null && !longContext;
  }

  /** One-token steps that ran every layer in one launch so far (tests). */
  long oneLaunchSteps() {
    return oneLaunchSteps;
  }

  /**
   * Whether the launch of every layer already picked the step's token: one token that samples,
   * greedily, with no guided mask (the sampler would pick the same id).
   */
  private boolean headSampled(Step step, int tokens, int sampleRows) {
    if (step.masks() != null) {
      return false;
    }
    if (headPicks(tokens, sampleRows)) { // every sampling row greedy
      return step.seqs().stream().allMatch(q -> !q.sample() || q.params().isGreedy());
    }
    return allLayers(tokens, fused) && layersHeadArgs != null && sampleRows == 1
        && step.seqs().size() == 1 && step.seqs().get(0).sample()
        && step.seqs().get(0).params().isGreedy();
  }

  /**
   * Whether a step of these tokens and sampling rows takes the LM head GEMV with the greedy
   * pick (Kernels.gemvPick): a fused step on one GPU, not in one launch, whose sampling rows
   * the GEMV takes ({@link #linear}'s choice), the final norm on its own (not FUSED_HEAD).
   */
  private boolean headPicks(int tokens, int sampleRows) {
    boolean fusedStep = fusedStep(tokens);
    return pickScratch != null && fusedStep && !allLayers(tokens, fusedStep) && sampleRows > 0
        && sampleRows <= Kernels.GEMV_BEST_TOKENS && useGemv && !FUSED_HEAD;
  }

  /** The decoder layers, final norm and LM head of a step on one GPU (or unfused under TP). */
  private void enqueueLayers(int tokens, int rows, boolean fusedStep) {
    int d = config.hiddenSize();
    int qs = config.qSize();
    int inter = config.intermediateSize();
    float eps = (float) config.rmsNormEps();
    boolean allLayers = allLayers(tokens, fusedStep);
    boolean head = allLayers && rows > 0 && layersHeadArgs != null;
    if (allLayers) {
      kernels.layers(head ? layersHeadArgs[metaSet] : layersArgs[metaSet], config.headDim());
      mark(head ? "all layers+lm_head" : "all layers");
    }
    int oneByOne = allLayers ? 0 : config.numLayers(); // the layers launched one at a time
    for (int l = 0; l < oneByOne; l++) {
      CudaWeights.Layer w = weights.layers.get(l);
      CUdeviceptr kc = kvCache.at(kvLayerBytes * l);
      CUdeviceptr vc = kvCache.at(kvLayerBytes * l + kvValueOffset);
      if (fusedStep) {
        enqueueFusedLayer(l, w, kc, vc, tokens);
        continue;
      }
      // The previous layer's MLP output joins the residual inside this norm.
      if (l == 0) {
        kernels.addRmsnorm(x.ptr(), null, null, w.inputNorm().ptr(), h.ptr(), d, eps, tokens);
      } else {
        addNorm(MLP_OUT, null, w.inputNorm().ptr(), h.ptr(), tokens);
      }
      mark("norm");
      qkvRopeCache(l, w, kc, vc, tokens);
      attention(l, kc, vc, tokens, rows);
      mark("attention");
      linear(attn.ptr(), w.oWeight(), w.oQ(), out(ATTN_OUT), tokens, qs, d);
      mark("o gemm");
      addNorm(ATTN_OUT, null, w.postNorm().ptr(), h.ptr(), tokens);
      mark("norm");
      if (GATE_UP_BF16 && w.gateUpQ() == null
          && !(tokens <= Kernels.GEMV_BEST_TOKENS && useGemv)) {
        cublas.linearBf16(h.ptr(), w.gateUpWeight().ptr(), gateUp.ptr(), tokens, d, 2 * inter);
        mark("gate_up gemm");
        kernels.siluMulBf16In(gateUp.ptr(), act.ptr(), inter, tokens);
      } else {
        linear(h.ptr(), w.gateUpWeight(), w.gateUpQ(), gateUp.ptr(), tokens, d, 2 * inter);
        mark("gate_up gemm");
        kernels.siluMul(gateUp.ptr(), act.ptr(), inter, tokens);
      }
      mark("silu");
      linear(act.ptr(), w.downWeight(), w.downQ(), out(MLP_OUT), tokens, inter, d);
      mark("down gemm");
    }
    if (rows > 0 && fusedStep && !head && (rows > Kernels.FUSED_MAX_TOKENS || !FUSED_HEAD)) {
      // x is complete: the final norm of the sampling rows, then the LM head (FUSED_HEAD).
      kernels.addRmsnorm(x.ptr(), null, metaAt(lay.lastRows()), weights.finalNorm.ptr(),
          hLast.ptr(), d, eps, rows);
      mark("norm");
      if (headPicks(tokens, rows)) {
        kernels.gemvPick(hLast.ptr(), weights.lmHead.ptr(), logits.ptr(), rows, vocabPart, d,
            pickScratch.ptr(), metaAt(offSampled));
        mark("lm_head gemv+pick");
      } else {
        linear(hLast.ptr(), weights.lmHead.ptr(), logits.ptr(), rows, d, vocabPart);
        mark("lm_head gemm");
      }
    } else if (rows > 0 && fusedStep) {
      if (shard.samples() && !head) {
        // The residual stream is complete: final norm + LM head of the sampling rows.
        kernels.rmsnormGemv(x.ptr(), metaAt(lay.lastRows()), weights.finalNorm.ptr(), eps,
            weights.lmHead.ptr(), logits.ptr(), rows, config.vocabSize(), d);
        mark("norm+lm_head gemv");
      }
    } else if (rows > 0) {
      // Last MLP output + final norm, only for the rows that sample (every rank takes part in
      // the all-reduce; only the sampling rank needs its result).
      addNorm(MLP_OUT, metaAt(lay.lastRows()), weights.finalNorm.ptr(), hLast.ptr(), rows);
      mark("norm");
      if (shard.samples() || splitVocab) {
        linear(hLast.ptr(), weights.lmHead.ptr(), splitVocab ? logitsPart.ptr() : logits.ptr(),
            rows, d, vocabPart);
        mark("lm_head gemm");
        gatherLogits(rows);
      }
    }
  }

  /**
   * A fused step's QKV over an FP8 cache: the cache's scale per (token, KV head) needs the
   * head's whole row, so the norm, the projection and the cache writer run as on the unfused
   * path.
   */
  private void fp8QkvRopeCache(int l, CudaWeights.Layer w, CUdeviceptr kc, CUdeviceptr vc,
      int tokens) {
    norm(w.inputNorm().ptr(), tokens);
    qkvRopeCache(l, w, kc, vc, tokens);
  }

  /** h = RMSNorm(x) * normW, with x complete (fused steps: no projection left to add). */
  private void norm(CUdeviceptr normW, int tokens) {
    kernels.addRmsnorm(x.ptr(), null, null, normW, h.ptr(), config.hiddenSize(),
        (float) config.rmsNormEps(), tokens);
    mark("norm");
  }

  /** The unfused QKV projection of the normed h, then RoPE and the cache write (bf16 or FP8). */
  private void qkvRopeCache(int l, CudaWeights.Layer w, CUdeviceptr kc, CUdeviceptr vc,
      int tokens) {
    CUdeviceptr positions = metaAt(lay.positions());
    CUdeviceptr slots = metaAt(lay.slots());
    linear(h.ptr(), w.qkvWeight(), w.qkvQ(), qkv.ptr(), tokens, config.hiddenSize(),
        config.qSize() + 2 * config.kvSize());
    mark("qkv gemm");
    if (kvFp8) {
      kernels.qkvRopeCacheFp8(qkv.ptr(), w.qkvBias().ptr(), positions, slots, q.ptr(), kc, vc,
          kScales(l), vScales(l), config.numHeads(), config.numKvHeads(), config.headDim(),
          (float) config.ropeTheta(), tokens);
    } else {
      kernels.qkvRopeCache(qkv.ptr(), w.qkvBias().ptr(), positions, slots, q.ptr(), kc, vc,
          config.numHeads(), config.numKvHeads(), config.headDim(), (float) config.ropeTheta(),
          tokens);
    }
    mark("rope+cache");
  }

  /** The attention-output projection's partial (tensor parallelism: its all-reduce buffer). */
  private static final int ATTN_OUT = 0;
  /** The MLP down projection's. */
  private static final int MLP_OUT = 1;

  /** Where projection {@code part} writes: proj, or its all-reduce buffer. */
  private CUdeviceptr out(int part) {
    return tp == null ? proj.ptr() : tp.part(part);
  }

  /**
   * x[src] += projection {@code part}'s output (summed over the ranks under tensor
   * parallelism), then out = rmsnorm(x[src]) * w, for rows {@code rows[r]} (or all).
   */
  private void addNorm(int part, CUdeviceptr rowIndex, CUdeviceptr w, CUdeviceptr out,
      int numRows) {
    int d = config.hiddenSize();
    float eps = (float) config.rmsNormEps();
    if (tp == null) {
      kernels.addRmsnorm(x.ptr(), proj.ptr(), rowIndex, w, out, d, eps, numRows);
    } else {
      tp.addRmsnorm(kernels, part, x.ptr(), rowIndex, w, out, d, eps, numRows);
    }
  }

  /**
   * One decoder layer of a step of at most {@link Kernels#GEMV_BEST_TOKENS} tokens in five
   * launches. The projections add into the residual stream x themselves, and the next norm
   * runs inside the GEMV that needs it, so x is always complete between layers.
   */
  private void enqueueFusedLayer(int l, CudaWeights.Layer w, CUdeviceptr kc, CUdeviceptr vc,
      int tokens) {
    if (w.qkvQ() != null) {
      enqueueFusedW4Layer(l, w, kc, vc, tokens);
      return;
    }
    int d = config.hiddenSize();
    float eps = (float) config.rmsNormEps();
    if (kvFp8) {
      fp8QkvRopeCache(l, w, kc, vc, tokens);
    } else {
      kernels.rmsnormQkvRope(x.ptr(), w.inputNorm().ptr(), eps, w.qkvWeight().ptr(),
          w.qkvBias().ptr(), metaAt(lay.positions()), metaAt(lay.slots()), q.ptr(), kc,
          vc, tokens, d, config.numHeads(), config.numKvHeads(), config.headDim(),
          (float) config.ropeTheta());
      mark("norm+qkv gemv+rope");
    }
    attention(l, kc, vc, tokens);
    mark("attention");
    kernels.gemvResidual(attn.ptr(), w.oWeight().ptr(), x.ptr(), tokens, d, config.qSize());
    mark("o gemv+residual");
    kernels.rmsnormGateUpSilu(x.ptr(), w.postNorm().ptr(), eps, w.gateUpWeight().ptr(),
        act.ptr(), tokens, d, config.intermediateSize());
    mark("norm+gate_up gemv+silu");
    kernels.gemvResidual(act.ptr(), w.downWeight().ptr(), x.ptr(), tokens, d,
        config.intermediateSize());
    mark("down gemv+residual");
  }

  /**
   * {@link #enqueueFusedLayer} for GPTQ int4 projections (w4a16_fused.cu): the same five
   * launches, plus a gather of the O or down projection's input where it is act-order (the
   * normed kernels permute theirs themselves). Steps of several tokens take the many-token
   * kernels, whose normed inputs the O and down kernels before them write (Kernels.ResidNorm;
   * layer 0's input norm runs on its own): five launches.
   */
  private void enqueueFusedW4Layer(int l, CudaWeights.Layer w, CUdeviceptr kc, CUdeviceptr vc,
      int tokens) {
    int d = config.hiddenSize();
    float eps = (float) config.rmsNormEps();
    CUdeviceptr positions = metaAt(lay.positions());
    CUdeviceptr slots = metaAt(lay.slots());
    if (chainStep(tokens)) {
      if (l == 0 && kvFp8) {
        fp8QkvRopeCache(l, w, kc, vc, tokens);
      } else if (l == 0) { // the later layers' QKV runs in the chain of the layer before
        kernels.w4RmsnormQkvRope(x.ptr(), w.inputNorm().ptr(), eps, w.qkvQ(),
            w.qkvBias().ptr(), positions, slots, q.ptr(), kc, vc, tokens, d, config.numHeads(),
            config.numKvHeads(), config.headDim(), (float) config.ropeTheta());
        mark("norm+qkv w4+rope");
      } else if (kvFp8) { // the chain before wrote this layer's QKV rows
        kernels.qkvRopeCacheFp8(qkv.ptr(), w.qkvBias().ptr(), positions, slots, q.ptr(), kc,
            vc, kScales(l), vScales(l), config.numHeads(), config.numKvHeads(),
            config.headDim(), (float) config.ropeTheta(), tokens);
        mark("rope+fp8 cache");
      }
      attention(l, kc, vc, tokens);
      mark("attention");
      kernels.w4Chain(chains[metaSet].at((long) Kernels.CHAIN_BYTES * l), chainGroup, scalesZ8,
          tokens, chainSmem[tokens], chainRuns == null ? null : chainRuns.ptr());
      mark("o+norm+gate_up+down+next qkv w4 chain");
      return;
    }
    // h already holds this layer's normed input where the down kernel before wrote it.
    boolean normed = l > 0 && residNorms(tokens);
    if (!normed && (kvFp8 || tokens > 1)) {
      norm(w.inputNorm().ptr(), tokens);
    }
    if (kvFp8) {
      qkvRopeCache(l, w, kc, vc, tokens);
    } else if (tokens == 1) {
      kernels.w4RmsnormQkvRope(x.ptr(), w.inputNorm().ptr(), eps, w.qkvQ(), w.qkvBias().ptr(),
          positions, slots, q.ptr(), kc, vc, tokens, d, config.numHeads(),
          config.numKvHeads(), config.headDim(), (float) config.ropeTheta());
      mark("norm+qkv w4+rope");
    } else {
      kernels.w4QkvRope(permuted(h.ptr(), w.qkvQ(), tokens), partStride(w.qkvQ(), tokens),
          w.qkvQ(), w.qkvBias().ptr(), positions, slots, q.ptr(), kc, vc, tokens, d,
          config.numHeads(), config.numKvHeads(), config.headDim(), (float) config.ropeTheta());
      mark("qkv w4+rope");
    }
    attention(l, kc, vc, tokens);
    mark("attention");
    Kernels.ResidNorm postNorm = residNorm(w.postNorm(), tokens);
    kernels.w4Residual(permuted(attn.ptr(), w.oQ(), tokens), w.oQ(), x.ptr(), tokens, postNorm);
    mark(postNorm != null ? "o w4+residual+norm" : "o w4+residual");
    if (tokens == 1) {
      kernels.w4RmsnormGateUpSilu(x.ptr(), w.postNorm().ptr(), eps, w.gateUpQ(), act.ptr(),
          tokens, d, config.intermediateSize());
      mark("norm+gate_up w4+silu");
    } else {
      if (postNorm == null) {
        norm(w.postNorm().ptr(), tokens);
      }
      kernels.w4GateUpSilu(permuted(h.ptr(), w.gateUpQ(), tokens),
          partStride(w.gateUpQ(), tokens), w.gateUpQ(), act.ptr(), tokens, d,
          config.intermediateSize());
      mark("gate_up w4+silu");
    }
    // The next layer's input norm too, unless the final norm (of the sampling rows) follows.
    Kernels.ResidNorm nextNorm = l + 1 < config.numLayers()
        ? residNorm(weights.layers.get(l + 1).inputNorm(), tokens) : null;
    kernels.w4Residual(permuted(act.ptr(), w.downQ(), tokens), w.downQ(), x.ptr(), tokens,
        nextNorm);
    mark(nextNorm != null ? "down w4+residual+norm" : "down w4+residual");
  }

  /**
   * Whether a fused GPTQ step of {@code tokens} tokens has its O and down kernels run the next
   * norm: not one token (the next kernel's prologue norms; the chain's steps never come here),
   * nor when off.
   */
  private boolean residNorms(int tokens) {
    return residNormScratch != null && tokens > 1;
  }

  /** The norm with weight {@code normW} for a residual W4 kernel to run into h, or null. */
  private Kernels.ResidNorm residNorm(DeviceBuffer normW, int tokens) {
    if (!residNorms(tokens)) {
      return null;
    }
    return new Kernels.ResidNorm(normW.ptr(), (float) config.rmsNormEps(), h.ptr(),
        residNormScratch.ptr(), residNormScratch.at(residNormSumBytes()));
  }

  /** Bytes of residNormScratch's group sums, which its barrier word follows. */
  private long residNormSumBytes() {
    return 4L * Kernels.W4M_MAX_TOKENS * (config.hiddenSize() / 32);
  }

  /** Elements between the act-order parts' copies that {@link #permuted} writes. */
  private static long partStride(CudaWeights.Q4 wq, int tokens) {
    return wq.perm() == null ? 0 : (long) tokens * wq.k();
  }

  /** a, or its copies in the act-order layer's permuted input order, one per part. */
  private CUdeviceptr permuted(CUdeviceptr a, CudaWeights.Q4 wq, int tokens) {
    if (wq.perm() == null) {
      return a;
    }
    kernels.gatherCols(a, wq.perm().ptr(), permScratch.ptr(), tokens, wq.k(), wq.parts());
    return permScratch.ptr();
  }

  /**
   * A fused step under tensor parallelism: the layers of {@link #enqueueFusedLayer}, but the
   * O and down projections push this rank's partials into every rank's slots and the next
   * normed GEMV sums them into x (allreduce.cu), with no all-reduce kernel in between. x
   * alternates between two buffers (the summing kernel's block 0 writes the new one while the
   * other blocks read the old); all-reduce k of the step is layer k / 2's O (even k) or down
   * (odd k) projection. The last down projection's sum feeds the LM head on the sampling rank.
   */
  private void enqueueFusedTp(int tokens, int rows) {
    int d = config.hiddenSize();
    int inter = config.intermediateSize();
    float eps = (float) config.rmsNormEps();
    CUdeviceptr epoch = metaAt(lay.epoch());
    CUdeviceptr xIn = x.ptr();
    for (int l = 0; l < config.numLayers(); l++) {
      CudaWeights.Layer w = weights.layers.get(l);
      CUdeviceptr kc = kvCache.at(kvLayerBytes * l);
      CUdeviceptr vc = kvCache.at(kvLayerBytes * l + kvValueOffset);
      long[] sum = null;
      if (l > 0) {
        sum = tp.sum(2 * l - 1, otherX(xIn), epoch);
      }
      kernels.rmsnormQkvRope(xIn, w.inputNorm().ptr(), eps, w.qkvWeight().ptr(),
          w.qkvBias().ptr(), metaAt(lay.positions()), metaAt(lay.slots()), q.ptr(), kc,
          vc, tokens, d, config.numHeads(), config.numKvHeads(), config.headDim(),
          (float) config.ropeTheta(), sum);
      xIn = sum == null ? xIn : otherX(xIn);
      mark("norm+qkv gemv+rope");
      attention(-1, kc, vc, tokens);
      mark("attention");
      kernels.gemvPush(attn.ptr(), w.oWeight().ptr(), tp.push(0), tokens, d, config.qSize());
      mark("o gemv push");
      kernels.rmsnormGateUpSilu(xIn, w.postNorm().ptr(), eps, w.gateUpWeight().ptr(),
          act.ptr(), tokens, d, inter, tp.sum(2 * l, otherX(xIn), epoch));
      xIn = otherX(xIn);
      mark("norm+gate_up gemv+silu");
      kernels.gemvPush(act.ptr(), w.downWeight().ptr(), tp.push(1), tokens, d, inter);
      mark("down gemv push");
    }
    long[] last = tp.sum(2 * config.numLayers() - 1, null, epoch);
    if (rows > 0 && (shard.samples() || splitVocab)) {
      // A fused step samples its one token (row t is the sampling row): the final norm and
      // this rank's LM head, its vocabulary rows when split.
      kernels.rmsnormGemvTp(xIn, weights.finalNorm.ptr(), eps, weights.lmHead.ptr(),
          splitVocab ? logitsPart.ptr() : logits.ptr(), tokens, vocabPart, d, last);
      mark("norm+lm_head gemv");
      gatherLogits(rows);
    } else if (!shard.samples()) {
      kernels.tpSignal(last); // nothing after its last partial: tell the peers it is there
    }
  }

  /**
   * A split LM head: each rank signals that its share of the logits is written (step event
   * 2 * layers, after the all-reduces), and rank 0 copies every share into its logits.
   */
  private void gatherLogits(int rows) {
    if (!splitVocab) {
      return;
    }
    int k = 2 * config.numLayers();
    CUdeviceptr epoch = metaAt(lay.epoch());
    if (shard.samples()) {
      kernels.tpGatherLogits(logits.ptr(), tp.gather(k, epoch), vocabPart, rows);
      mark("gather logits");
    } else {
      kernels.tpSignal(tp.sum(k, null, epoch));
    }
  }

  /** The residual buffer a fused TP step's next sum writes, given the one it reads. */
  private CUdeviceptr otherX(CUdeviceptr xIn) {
    return xIn == x.ptr() ? xAlt.ptr() : x.ptr();
  }

  /**
   * Fills the pinned metadata and copies it to the device; returns the sampling rows. For a
   * graph, tokens up to {@code padTokens} and rows up to {@code padRows} past the step's are
   * padding: position -1 (no cache write, zero attention), and each padding row samples
   * greedily from a padding token of its own.
   */
  private int writeMetadata(Step step, int padTokens, int padRows) {
    lay = layoutFor(Math.max(padTokens, step.tokenIds().length));
    int sMax = options.maxNumSeqs();
    int bs = options.blockSize();
    int t = 0;
    int rows = 0;
    hostInts.put(0, step.tokenIds()); // a fed step's first entries are placeholders (below)
    for (int s = 0; s < step.seqs().size(); s++) {
      SeqStep seq = step.seqs().get(s);
      int[] table = seq.blockTable();
      if (table.length > maxBlocksPerSeq) {
        throw new IllegalArgumentException("sequence of " + seq.contextLen() + " tokens exceeds"
            + " the runner's max model length " + options.maxModelLen());
      }
      hostInts.put(lay.tables() + s * maxBlocksPerSeq, table);
      for (int i = 0; i < seq.numNewTokens(); i++, t++) {
        int pos = seq.startPos() + i;
        hostInts.put(lay.positions() + t, pos);
        hostInts.put(lay.slots() + t, table[pos / bs] * bs + pos % bs);
        hostInts.put(lay.tokenSeq() + t, s);
      }
      if (seq.sample()) {
        hostInts.put(lay.lastRows() + rows, t - 1);
        boolean greedy = seq.params().isGreedy();
        hostInts.put(lay.topK() + rows, seq.params().topK());
        putFloat(rows, greedy ? 0f : (float) seq.params().temperature());
        putFloat(sMax + rows, (float) seq.params().topP());
        putFloat(2 * sMax + rows,
            (float) Sampler.uniform(seq.seed(), seq.sampleIndex()));
        rows++;
      }
    }
    for (int pad = t; pad < padTokens; pad++) {
      hostInts.put(pad, 0);
      hostInts.put(lay.positions() + pad, -1);
      hostInts.put(lay.slots() + pad, -1);
      hostInts.put(lay.tokenSeq() + pad, 0);
    }
    // Each padding row reads its own padding token: the final norm adds into its source row.
    for (int pad = rows; pad < padRows; pad++) {
      hostInts.put(lay.lastRows() + pad, t + pad - rows);
      hostInts.put(lay.topK() + pad, 0);
      putFloat(pad, 0f);
      putFloat(sMax + pad, 1f);
      putFloat(2 * sMax + pad, 0f);
    }
    epoch++;
    hostInts.put(lay.epoch(), (int) epoch);
    hostInts.put(lay.epoch() + 1, (int) (epoch >>> 32));
    // The first tokens of a fed step are the step before's samples, which it reads on the
    // device (step_token: id -1 - r is the id sampled in row r), in stream order after that
    // step's sampler.
    for (int f = 0; f < step.fed(); f++) {
      hostInts.put(f, -1 - f);
    }
    int ints = lay.tables() + step.seqs().size() * maxBlocksPerSeq;
    // On its own stream, once the step two before (the set's last user) is done with the set:
    // the copy runs while the step before computes, not between the two. The step waits for
    // it, and for the copy to the host of the ids the set's step two before sampled (its own
    // overwrite them).
    CUstream main = device.stream();
    cuStreamWaitEvent(h2dStream, setDone[metaSet], 0);
    cuMemcpyHtoDAsync(metaAt(0), hostMeta, 4L * ints, h2dStream);
    cuEventRecord(metaCopied[metaSet], h2dStream);
    cuStreamWaitEvent(main, metaCopied[metaSet], 0);
    cuStreamWaitEvent(main, sampledCopied[metaSet], 0);
    return rows;
  }

  /** Device address of int {@code off} of metadata set {@code set}. */
  private CUdeviceptr metaAt(int set, int off) {
    return meta.at(4L * ((long) set * setInts + off));
  }

  /** The same in the set of the step being enqueued. */
  private CUdeviceptr metaAt(int off) {
    return metaAt(metaSet, off);
  }

  /** Sampling float i of the step being written (temperature, then top-p, then draws). */
  private void putFloat(int i, float v) {
    hostInts.put(lay.floats() + i, Float.floatToRawIntBits(v));
  }

  /** The metadata layout of a step of {@code tokens} tokens (padded, for a graph). */
  private MetaLayout layoutFor(int tokens) {
    return tokens <= small.stride() ? small : full;
  }

  /**
   * Copies the guided masks of the {@code rows} sampling rows to the device; padding rows of a
   * decode graph ({@code rows..padRows}) allow everything.
   */
  private CUdeviceptr uploadMasks(int[] masks, int rows, int padRows) {
    allocateMasks();
    if (masks != Step.STAGED) {
      maskHostInts.put(0, masks, 0, rows * maskWords);
    }
    for (int r = rows; r < padRows; r++) {
      maskHostInts.put(r * maskWords, allowAll, 0, maskWords);
    }
    long bytes = 4L * padRows * maskWords;
    if (maskStream == null) {
      cuMemcpyHtoDAsync(maskDevice.ptr(), maskHost, bytes, device.stream());
    } else {
      cuMemcpyHtoDAsync(maskDevice.ptr(), maskHost, bytes, maskStream);
      jcuda.driver.JCudaDriver.cuEventRecord(maskCopied, maskStream);
      jcuda.driver.JCudaDriver.cuStreamWaitEvent(device.stream(), maskCopied, 0);
    }
    return maskDevice.ptr();
  }

  /**
   * The pinned mask upload buffer (allocated on first use), for the engine to write into: free
   * to overwrite, since the step before ended with the device synchronized.
   */
  @Override
  public java.nio.IntBuffer maskStaging(int ints) {
    if (ints > maskWords * options.maxNumSeqs()) {
      throw new IllegalArgumentException(ints + " mask words exceed the runner's "
          + options.maxNumSeqs() + " rows");
    }
    allocateMasks();
    return maskHostInts;
  }

  /** The masks' device and pinned buffers, stream and event, on first use. */
  private void allocateMasks() {
    if (maskDevice == null) {
      device.makeCurrent();
      allowAll = new int[maskWords];
      java.util.Arrays.fill(allowAll, -1);
      long bytes = 4L * maskWords * options.maxNumSeqs();
      maskDevice = device.alloc(bytes);
      maskHost = new Pointer();
      jcuda.driver.JCudaDriver.cuMemAllocHost(maskHost, bytes);
      maskHostInts = maskHost.getByteBuffer(0, bytes).order(ByteOrder.nativeOrder()).asIntBuffer();
      if (MASK_STREAM) {
        maskStream = new jcuda.driver.CUstream();
        jcuda.driver.JCudaDriver.cuStreamCreate(maskStream,
            jcuda.driver.CUstream_flags.CU_STREAM_NON_BLOCKING);
        maskCopied = new jcuda.driver.CUevent();
        jcuda.driver.JCudaDriver.cuEventCreate(maskCopied,
            jcuda.driver.CUevent_flags.CU_EVENT_DISABLE_TIMING);
      }
    }
  }

  /** A linear layer: our GEMV for decode-sized batches, cuBLAS for larger ones. */
  private void linear(CUdeviceptr x, CUdeviceptr w, CUdeviceptr y, int tokens, int in, int out) {
    if (tokens <= Kernels.GEMV_BEST_TOKENS && in % 8 == 0 && useGemv) {
      kernels.gemv(x, w, y, tokens, out, in);
    } else {
      cublas.linear(x, w, y, tokens, in, out);
    }
  }

  /** {@link #attention(int, CUdeviceptr, CUdeviceptr, int, int)} of a decode-only step. */
  private void attention(int layer, CUdeviceptr kc, CUdeviceptr vc, int tokens) {
    attention(layer, kc, vc, tokens, tokens);
  }

  /**
   * Attention of the step's q over layer {@code layer}'s cache kc/vc into attn: split-K for up
   * to {@code splitTokens} tokens (per query head at one token, per KV head from
   * {@link #GQA_SPLIT_FROM} tokens and over an FP8 cache), else a block per token and head
   * group; from one token ({@link #ONE_TOKEN_MMA}) both per KV head on the tensor cores
   * ({@link #DECODE_MMA}). Where prompt chunks make most of a step's tokens (at least
   * {@link #MMA_TOKENS_PER_ROW} per sampling row of the {@code rows}) the prompt tensor-core
   * kernel instead, whose blocks share each key tile between 16 consecutive tokens
   * (attention_mma.cu; over an FP8 cache its twin, which converts each tile once); decode
   * tokens alone in their 16 would cost it a pass each.
   */
  private void attention(int layer, CUdeviceptr kc, CUdeviceptr vc, int tokens, int rows) {
    CUdeviceptr positions = metaAt(lay.positions());
    CUdeviceptr tokenSeq = metaAt(lay.tokenSeq());
    CUdeviceptr tables = metaAt(lay.tables());
    float scale = (float) (1 / Math.sqrt(config.headDim()));
    boolean mmaShape =
        Kernels.mmaFits(config.numHeads(), config.numKvHeads(), config.headDim());
    boolean decodeMma = DECODE_MMA && mmaShape;
    boolean gqaSplit = kvFp8 ? Kernels.gqaFits(config.headDim(), true)
        : tokens >= GQA_SPLIT_FROM || ONE_TOKEN_MMA && decodeMma;
    boolean prefillMma = MMA_ATTENTION && mmaShape
        && tokens >= MMA_TOKENS_PER_ROW * (long) Math.max(rows, 1);
    CUdeviceptr ks = kvFp8 ? kScales(layer) : null;
    CUdeviceptr vs = kvFp8 ? vScales(layer) : null;
    boolean split = tokens <= splitTokens && gqaSplit;
    if (decodeMma && (split || tokens > splitTokens && !prefillMma)) {
      // split steps may cut their contexts (decodeMmaSplit) and launch the chain early
      kernels.attentionDecodeMma(q.ptr(), kc, vc, ks, vs, tokenSeq, positions, tables,
          maxBlocksPerSeq, options.blockSize(), attn.ptr(), config.numHeads(),
          config.numKvHeads(), config.headDim(), scale, split ? splitO.ptr() : null,
          split ? splitMl.ptr() : null, split ? splitCounters.ptr() : null, tokens,
          split && kernels.decodeMmaSplit(tokens, config.numKvHeads()),
          split && (chainStep(tokens) || ONE_TOKEN_MMA && tokens == 1), oneTokenEach);
    } else if (split) {
      kernels.attentionGqaSplit(q.ptr(), kc, vc, ks, vs, tokenSeq, positions, tables,
          maxBlocksPerSeq, options.blockSize(), attn.ptr(), config.numHeads(),
          config.numKvHeads(), config.headDim(), scale, splitO.ptr(), splitMl.ptr(),
          splitCounters.ptr(), tokens);
    } else if (prefillMma && kvFp8) {
      kernels.attentionMma(q.ptr(), kc, vc, ks, vs, tokenSeq, positions, tables,
          maxBlocksPerSeq, options.blockSize(), attn.ptr(), config.numHeads(),
          config.numKvHeads(), config.headDim(), scale, tokens);
    } else if (kvFp8) {
      kernels.attentionFp8(q.ptr(), kc, vc, ks, vs, tokenSeq, positions, tables,
          maxBlocksPerSeq, options.blockSize(), attn.ptr(), config.numHeads(),
          config.numKvHeads(), config.headDim(), scale, tokens);
    } else if (tokens <= splitTokens) {
      kernels.attentionSplit(q.ptr(), kc, vc, tokenSeq, positions, tables, maxBlocksPerSeq,
          options.blockSize(), attn.ptr(), config.numHeads(), config.numKvHeads(),
          config.headDim(), scale, splitO.ptr(), splitMl.ptr(), splitCounters.ptr(), tokens,
          chainStep(tokens));
    } else if (prefillMma) {
      kernels.attentionMma(q.ptr(), kc, vc, tokenSeq, positions, tables, maxBlocksPerSeq,
          options.blockSize(), attn.ptr(), config.numHeads(), config.numKvHeads(),
          config.headDim(), scale, tokens);
    } else {
      kernels.attention(q.ptr(), kc, vc, tokenSeq, positions, tables, maxBlocksPerSeq,
          options.blockSize(), attn.ptr(), config.numHeads(), config.numKvHeads(),
          config.headDim(), scale, tokens);
    }
  }

  /** FP8 cache: layer l's K scales, fp16 (slots, kvHeads). */
  private CUdeviceptr kScales(int l) {
    return kvCache.at(kvLayerBytes * l + kvScaleOffset);
  }

  /** FP8 cache: layer l's V scales, after its K scales. */
  private CUdeviceptr vScales(int l) {
    return kvCache.at(kvLayerBytes * l + kvScaleOffset
        + 2L * numBlocks * options.blockSize() * config.numKvHeads());
  }

  /** A decoder projection: bf16 {@code w}, or GPTQ int4 {@code wq} when that is non-null. */
  private void linear(CUdeviceptr x, DeviceBuffer w, CudaWeights.Q4 wq, CUdeviceptr y,
      int tokens, int in, int out) {
    if (wq == null) {
      linear(x, w.ptr(), y, tokens, in, out);
    } else if (tokens <= Kernels.W4_MAX_TOKENS && useGemv) {
      // Decode and short prefills: int4 weights straight from memory, a quarter of bf16's bytes.
      CUdeviceptr xs = x;
      long partStride = 0;
      if (wq.perm() != null) {
        kernels.gatherCols(x, wq.perm().ptr(), permScratch.ptr(), tokens, in, wq.parts());
        xs = permScratch.ptr();
        partStride = (long) tokens * in;
      }
      kernels.w4a16(xs, partStride, wq.codes().ptr(), wq.scaleZero().ptr(), y, tokens, out, in,
          wq.group(), wq.bound1(), wq.bound2());
    } else if (Kernels.w4WsTakes(tokens) && useGemv && wq.perm() == null
        && wq.stripScales() != null && kernels.w4WsFits(out, in, wq.group())) {
      // The same exact weights by the warp-specialized form: one thread copies the stages, two
      // warpgroups unpack and multiply, 128 tokens a tile, 64 for 129 to 192 (14B at 128 tokens
      // 187 against 253 us a layer by the form below, at 192 269 against 296, at 256 338
      // against cuBLAS's 409).
      kernels.w4Ws(x, w4ggScratch.ptr(), wq.codes().ptr(), wq.stripScales().ptr(), wq.stripZ8(),
          y, tokens, out, in, wq.group());
    } else if (tokens <= Kernels.W4GG_MAX_TOKENS && useGemv && wq.perm() == null
        && kernels.w4WgmmaFits(out, in, wq.group())) {
      // Decode batches and prompt chunks past the GEMV's 64 tokens: the int4 codes read once
      // and unpacked in registers for warpgroup MMAs, exact weights as above (dequantizing for
      // cuBLAS wrote and read them again as bf16: 14B at 128 tokens 274 against 372 us a layer).
      kernels.w4Wgmma(x, w4ggScratch.ptr(), wq.codes().ptr(), wq.scaleZero().ptr(),
          wq.stripZ8() ? wq.stripScales().ptr() : null, y, tokens, out, in, wq.group());
    } else {
      // Long prefill: the dequantization's bytes are small next to a GEMM over many tokens;
      // the weights round to bf16 here (the kernels above keep them exact).
      kernels.dequantW4(wq.codes().ptr(), wq.scaleZero().ptr(),
          wq.invPerm() == null ? null : wq.invPerm().ptr(), dequantScratch.ptr(), out, in,
          wq.group(), wq.bound1(), wq.bound2());
      cublas.linear(x, dequantScratch.ptr(), y, tokens, in, out);
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (int g = 0; g < 2; g++) {
      long n = timedSteps[g];
      if (n > 0) {
        LOG.info("runner host time per {} step over {} steps: launch {} ms, mask wait {} ms,"
            + " mask copy {} ms, GPU wait {} ms", g == 1 ? "guided" : "unguided", n,
            ms(hostTimes[g][0], n), ms(hostTimes[g][1], n), ms(hostTimes[g][2], n),
            ms(hostTimes[g][3], n));
      }
    }
    device.makeCurrent();
    device.synchronize();
    graphs.close();
    if (profiler != null) {
      profiler.close();
    }
    cublas.close();
    kernels.close();
    cuStreamSynchronize(h2dStream);
    cuStreamSynchronize(d2hStream);
    for (int set = 0; set < 2; set++) {
      cuMemFreeHost(hostMetas[set]);
      for (CUevent[] e : new CUevent[][] {metaCopied, setDone, sampledCopied}) {
        cuEventDestroy(e[set]);
      }
    }
    cuStreamDestroy(h2dStream);
    cuStreamDestroy(d2hStream);
    submitted.clear();
    if (maskHost != null) {
      cuMemFreeHost(maskHost);
    }
    if (maskStream != null) {
      jcuda.driver.JCudaDriver.cuEventDestroy(maskCopied);
      jcuda.driver.JCudaDriver.cuStreamDestroy(maskStream);
    }
    device.close();
  }
}
