package io.redress.inference.runtime.cpu;

import io.redress.inference.model.ModelConfig;
import io.redress.inference.runtime.ModelRunner;
import io.redress.inference.runtime.SeqStep;
import io.redress.inference.runtime.Step;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@link ModelRunner} on the CPU: {@link CpuModel} over a paged KV cache, where position
 * {@code p} of a sequence lives in slot {@code blockTable[p / blockSize] * blockSize +
 * p % blockSize}, exactly the GPU's addressing.
 */
public final class CpuModelRunner implements ModelRunner {

  private final CpuModel model;
  private final int blockSize;
  private final int numBlocks;
  private KvCache cache;
  /** Every step's spans, for tests that check what the runner computed. */
  private final List<List<SeqStep>> history;

  private CpuModelRunner(CpuModel model, int blockSize, int numBlocks, boolean recordHistory) {
    this.model = model;
    this.blockSize = blockSize;
    this.numBlocks = numBlocks;
    this.cache = model.newCache(Math.multiplyExact(numBlocks, blockSize));
    this.history = recordHistory ? new ArrayList<>() : null;
  }

  /** Most heap an automatically sized CPU KV cache takes; more with an explicit block count. */
  static final long AUTO_CAP_BYTES = 512L << 20;

  /**
   * A runner with {@code numBlocks} KV blocks or, when 0, as many as fit in {@code kvFraction}
   * of the heap left after the weights, at most 512 MB and at most {@code maxUsefulBlocks}.
   * The cap matters where the heap is shared (a Flink TaskManager, tests): a CPU runner serves
   * few sequences at a time anyway.
   */
  public static CpuModelRunner create(CpuModel model, int blockSize, int numBlocks,
      double kvFraction, int maxUsefulBlocks) {
    return new CpuModelRunner(model, blockSize, numBlocks > 0 ? numBlocks
        : Math.min(maxUsefulBlocks, autoBlocks(model.config(), blockSize, kvFraction)), false);
  }

  /** Like {@link #create}, also recording every step (tests). */
  public static CpuModelRunner recording(CpuModel model, int blockSize, int numBlocks) {
    return new CpuModelRunner(model, blockSize, numBlocks, true);
  }

  private static int autoBlocks(ModelConfig c, int blockSize, double fraction) {
    Runtime rt = Runtime.getRuntime();
    System.gc();
    long free = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
    long bytesPerBlock = 2L * 4 * c.numLayers() * c.kvSize() * blockSize;
    // One Java array per layer and kind: stay under 2^31 elements per array.
    long maxByArray = (Integer.MAX_VALUE - 8L) / ((long) c.kvSize() * blockSize);
    long budget = Math.min((long) (free * fraction), AUTO_CAP_BYTES);
    long blocks = Math.min(budget / bytesPerBlock, maxByArray);
    if (blocks < 1) {
      throw new IllegalStateException("no heap left for the KV cache: raise -Xmx (JAVA_OPTS)");
    }
    return (int) Math.min(blocks, 1 << 20);
  }

  @Override
  public ModelConfig config() {
    return model.config();
  }

  @Override
  public int numBlocks() {
    return numBlocks;
  }

  @Override
  public int blockSize() {
    return blockSize;
  }

  @Override
  public String device() {
    return "cpu (" + Runtime.getRuntime().availableProcessors() + " threads)";
  }

  @Override
  public int[] step(Step step) {
    if (history != null) {
      history.add(step.seqs());
    }
    List<SeqSpan> spans = new ArrayList<>(step.seqs().size());
    int offset = 0;
    for (SeqStep s : step.seqs()) {
      spans.add(new SeqSpan(offset, s.numNewTokens(), s.startPos(), slots(s)));
      offset += s.numNewTokens();
    }
    float[] logits = model.forward(step.tokenIds(), spans, cache, false);
    int vocab = model.config().vocabSize();
    int[] masks = step.masks() == null ? null : step.masks().join();
    int[] sampled = new int[step.numSampling()];
    int k = 0;
    for (int i = 0; i < step.seqs().size(); i++) {
      SeqStep s = step.seqs().get(i);
      if (s.sample()) {
        if (masks != null) {
          applyMask(logits, i * vocab, vocab, masks, k * step.maskWords());
        }
        sampled[k++] = Sampler.sample(logits, i * vocab, vocab, s.params(), s.seed(),
            s.sampleIndex());
      }
    }
    return sampled;
  }

  /** Disallowed tokens get -infinity, so no warper or draw can pick them. */
  static void applyMask(float[] logits, int offset, int vocab, int[] masks, int maskOffset) {
    for (int i = 0; i < vocab; i++) {
      if ((masks[maskOffset + (i >> 5)] & (1 << (i & 31))) == 0) {
        logits[offset + i] = Float.NEGATIVE_INFINITY;
      }
    }
  }

  private int[] slots(SeqStep s) {
    int[] slots = new int[s.contextLen()];
    int[] table = s.blockTable();
    for (int p = 0; p < slots.length; p++) {
      slots[p] = table[p / blockSize] * blockSize + p % blockSize;
    }
    return slots;
  }

  // Pipelining (pipelining(true)): the engine's pipelined path without a GPU. Steps run at
  // collect, in submission order; a fed step takes the ids of the step collected before it.
  private boolean pipelining;
  private final java.util.ArrayDeque<Step> submitted = new java.util.ArrayDeque<>();
  private int[] lastSampled;
  private long fedSteps;

  private long fedAdmitting;

  /** Fed steps run so far: those the engine scheduled ahead of their tokens (tests). */
  public long fedSteps() {
    return fedSteps;
  }

  /** Fed steps that also took sequences the engine admitted ahead (tests). */
  public long fedAdmittingSteps() {
    return fedAdmitting;
  }

  /** Lets the engine submit steps ahead ({@link #pipelines}); off by default. */
  public CpuModelRunner pipelining(boolean on) {
    pipelining = on;
    return this;
  }

  @Override
  public boolean pipelines() {
    return pipelining;
  }

  @Override
  public void submit(Step step) {
    if (!pipelining) {
      throw new UnsupportedOperationException("pipelining is off");
    }
    ModelRunner.checkSubmit(step, submitted.size(),
        submitted.isEmpty() ? 0 : submitted.peekLast().numSampling());
    submitted.addLast(step);
  }

  @Override
  public int[] collect() {
    Step step = submitted.pollFirst();
    if (step == null) {
      throw new IllegalStateException("no step submitted");
    }
    if (step.fed() > 0) {
      int[] tokens = step.tokenIds().clone();
      System.arraycopy(lastSampled, 0, tokens, 0, step.fed());
      fedAdmitting += step.seqs().size() > step.fed() ? 1 : 0;
      step = new Step(tokens, step.seqs(), step.masks(), step.maskWords());
      fedSteps++;
    }
    lastSampled = step(step);
    return lastSampled.clone();
  }

  @Override
  public void abandon() {
    submitted.clear();
  }

  /** Steps run so far (only when created with {@link #recording}). */
  public List<List<SeqStep>> history() {
    return history;
  }

  @Override
  public void close() {
    cache = null;
  }
}
