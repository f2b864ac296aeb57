package io.redress.inference.engine;

import io.redress.inference.guide.GrammarCache;
import io.redress.inference.guide.GrammarMatcher;
import io.redress.inference.guide.TokenVocabulary;
import io.redress.inference.model.ChatTemplate;
import io.redress.inference.model.ModelConfig;
import io.redress.inference.model.ModelLoadException;
import io.redress.inference.model.Tokenizer;
import io.redress.inference.runtime.ModelRunner;
import io.redress.inference.runtime.cpu.CpuModel;
import io.redress.inference.runtime.cpu.CpuModelRunner;
import io.redress.inference.runtime.cuda.CudaDevice;
import io.redress.inference.runtime.cuda.CudaModelRunner;
import io.redress.inference.runtime.cuda.TensorParallelRunner;
import io.redress.inference.sched.BlockManager;
import io.redress.inference.sched.ScheduledStep;
import io.redress.inference.sched.Scheduler;
import io.redress.inference.sched.Sequence;
import java.nio.file.Files;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Engine}: callers tokenize on their own threads and queue requests; one loop thread
 * owns the scheduler and the model runner and runs {@code schedule -> runner.step ->
 * postprocess} until closed.
 */
final class LlmEngine implements Engine {

  private static final Logger LOG = LoggerFactory.getLogger(LlmEngine.class);
  /** Jump-forward only up to this many running sequences on graph-replaying runners. */
  static final int JUMP_FORWARD_MAX_RUNNING =
      Integer.getInteger("redress.jumpForwardMaxRunning", 4);

  private final EngineConfig config;
  private final ModelRunner runner;
  private final Tokenizer tokenizer;
  private final ChatTemplate template;
  private final Scheduler scheduler;
  private final int maxModelLen;
  private final Thread loop;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition wakeUp = lock.newCondition();
  private final ConcurrentLinkedQueue<Pending> inbox = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<String> cancels = new ConcurrentLinkedQueue<>();
  private final Map<String, Pending> inFlight = new ConcurrentHashMap<>();
  private final SplittableRandom seeds = new SplittableRandom();
  private final Throughput throughput = new Throughput();
  private final AtomicLong promptTokens = new AtomicLong();
  private final AtomicLong prefixHitTokens = new AtomicLong();
  private final AtomicLong generatedTokens = new AtomicLong();
  private final AtomicLong steps = new AtomicLong();
  private final AtomicLong guidedMaskNanos = new AtomicLong();
  private final GrammarCache grammars = new GrammarCache(64);
  private final java.util.concurrent.ExecutorService maskPool =
      java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "redress-masks");
        t.setDaemon(true);
        return t;
      });
  /**
   * The threads that advance matchers and fill masks beside the forward pass (their parallel
   * stream forks here too, not in the common pool). Half the cores, at most 8: with every core
   * busy filling masks, the engine thread's own launch of the step slowed from 0.04 to 0.2 ms
   * (0.5B, batch 64, 16 cores), and that delay is the GPU's.
   */
  private final java.util.concurrent.ForkJoinPool maskWorkers = new java.util.concurrent.ForkJoinPool(
      Integer.getInteger("redress.maskThreads",
          Math.max(1, Math.min(8, Runtime.getRuntime().availableProcessors() / 2))));
  private TokenVocabulary vocabulary;
  private final Map<String, int[]> forcedTokenCache = new ConcurrentHashMap<>();
  private volatile boolean closed;
  private volatile EngineStats stats;

  /** A queued request: its sequence, its future and how to stream it. */
  private record Pending(Sequence seq, GenerationRequest request,
      CompletableFuture<GenerationResult> future, int[] delivered) {

    Pending(Sequence seq, GenerationRequest request, CompletableFuture<GenerationResult> f) {
      this(seq, request, f, new int[1]);
    }
  }

  LlmEngine(EngineConfig config, ModelRunner runner, Tokenizer tokenizer, ChatTemplate template) {
    this.config = config;
    this.runner = runner;
    this.tokenizer = tokenizer;
    this.template = template;
    int capacity = runner.numBlocks() * runner.blockSize();
    int wanted = maxLen(config, runner.config());
    // A single sequence must always fit the KV pool, or preemption could never make progress.
    this.maxModelLen = Math.min(wanted, capacity);
    if (maxModelLen < wanted) {
      LOG.warn("KV cache holds {} tokens ({} blocks of {}): max model length lowered from {}"
          + " to {}", capacity, runner.numBlocks(), runner.blockSize(), wanted, maxModelLen);
    }
    Set<Integer> eos = new HashSet<>(runner.config().eosTokenIds());
    this.scheduler = new Scheduler(
        new BlockManager(runner.numBlocks(), runner.blockSize(), config.enablePrefixCaching()),
        config.maxNumSeqs(), config.maxNumBatchedTokens(), maxModelLen,
        config.enableChunkedPrefill(), eos, this::forcedTokens);
    // Large guided batches then sample forced tokens one per step, which keeps their steps
    // uniform (graphs) and lets them run ahead (Scheduler.scheduleAhead).
    if (runner.prefersUniformDecodeSteps() || runner.pipelines()) {
      scheduler.limitJumpForward(JUMP_FORWARD_MAX_RUNNING);
    }
    // Off: matchers advance on this thread between steps, as before (for comparisons).
    scheduler.deferMatchers(!"false".equals(System.getProperty("redress.deferMatchers")));
    this.stats = snapshot();
    runner.warmUp();
    if (tokenizer != null) {
      // Build the guided-decoding vocabulary tables off the request path.
      maskPool.execute(() -> {
        try {
          vocabulary().prepare();
        } catch (RuntimeException e) {
          LOG.warn("guided-decoding vocabulary not prepared: {}", e.toString());
        }
      });
    }
    this.loop = new Thread(this::runLoop, "redress-engine");
    this.loop.setDaemon(true);
    this.loop.start();
  }

  static LlmEngine open(EngineConfig config) {
    long t0 = System.nanoTime();
    ModelConfig modelConfig = ModelConfig.load(config.modelDir());
    int maxLen = maxLen(config, modelConfig);
    ModelRunner runner;
    if (config.tensorParallelSize() > 1) {
      // The last GPU of the group is probed: a missing one fails here, clearly.
      useCuda(EngineConfig.Device.CUDA, config.gpu() + config.tensorParallelSize() - 1);
      runner = TensorParallelRunner.load(config.modelDir(), cudaOptions(config, maxLen),
          config.tensorParallelSize());
    } else if (useCuda(config.device(), config.gpu())) {
      runner = CudaModelRunner.load(config.modelDir(), cudaOptions(config, maxLen));
    } else {
      if (config.kvCacheDtype() == io.redress.inference.runtime.KvCacheDtype.FP8) {
        LOG.warn("no usable GPU: the CPU runner keeps K and V in fp32, so the FP8 KV cache"
            + " setting does not apply");
      }
      CpuModel model = CpuModel.load(config.modelDir());
      int usefulBlocks = (int) Math.min(Integer.MAX_VALUE,
          (long) config.maxNumSeqs() * ((maxLen + config.blockSize() - 1) / config.blockSize()));
      runner = CpuModelRunner.create(model, config.blockSize(), config.numBlocks(),
          config.kvCacheFraction(), usefulBlocks);
    }
    boolean hasTokenizer = Files.exists(config.modelDir().resolve("tokenizer.json"))
        || Files.exists(config.modelDir().resolve("tokenizer.json.gz"));
    Tokenizer tokenizer = hasTokenizer ? Tokenizer.load(config.modelDir()) : null;
    ChatTemplate template = ChatTemplate.forModel(config.modelDir());
    LOG.info("engine ready on {} in {} ms: {} KV blocks of {} tokens", runner.device(),
        (System.nanoTime() - t0) / 1_000_000, runner.numBlocks(), runner.blockSize());
    return new LlmEngine(config, runner, tokenizer, template);
  }

  /** The configured maximum length, within the model's positions (0 means the model's). */
  private static int maxLen(EngineConfig config, ModelConfig model) {
    return config.maxModelLen() > 0 ? Math.min(config.maxModelLen(), model.maxPositions())
        : model.maxPositions();
  }

  /** CUDA when asked for (failing clearly when unusable), or for AUTO when the GPU works. */
  private static boolean useCuda(EngineConfig.Device device, int gpu) {
    if (device == EngineConfig.Device.CPU) {
      return false;
    }
    CudaDevice.Availability usable = CudaDevice.probe(gpu);
    if (device == EngineConfig.Device.CUDA && !usable.usable()) {
      throw new ModelLoadException("device cuda: " + usable.reason() + "; use --device cpu (or"
          + " auto)");
    }
    if (!usable.usable()) {
      LOG.info("running on the CPU: {}", usable.reason());
    }
    return usable.usable();
  }

  /** The CUDA runner's sizes for this engine configuration. */
  static CudaModelRunner.Options cudaOptions(EngineConfig config, int maxLen) {
    return new CudaModelRunner.Options(config.gpu(), config.blockSize(), config.numBlocks(),
        config.kvCacheFraction(), config.maxNumSeqs(),
        Math.max(config.maxNumBatchedTokens(), config.maxNumSeqs()), maxLen,
        config.kvCacheDtype());
  }

  /** An engine over a runner the caller built (random-weight benchmarks, tests). */
  static LlmEngine open(EngineConfig config, ModelRunner runner, Tokenizer tokenizer) {
    return new LlmEngine(config, runner, tokenizer, ChatTemplate.chatml());
  }

  // ---- public API (any thread) -------------------------------------------------------------

  @Override
  public CompletableFuture<GenerationResult> submit(GenerationRequest request) {
    if (closed) {
      throw new IllegalStateException("engine is closed: open a new one to submit requests");
    }
    long now = System.nanoTime();
    CompletableFuture<GenerationResult> future = new CompletableFuture<>();
    int[] prompt;
    try {
      prompt = promptIds(request);
    } catch (RuntimeException e) {
      future.complete(GenerationResult.failed(request.requestId(), FinishReason.ERROR,
          e.getMessage(), 0, System.nanoTime() - now));
      return future;
    }
    String problem = check(prompt);
    if (problem != null) {
      future.complete(GenerationResult.failed(request.requestId(), FinishReason.ERROR,
          problem, prompt.length, System.nanoTime() - now));
      return future;
    }
    long seed = request.params().seed() != null ? request.params().seed() : nextSeed();
    Sequence seq = new Sequence(request.requestId(), prompt, request.params(), seed, now);
    if (request.params().jsonSchema() != null) {
      try {
        seq.guide(grammars.get(request.params().jsonSchema()).newMatcher(vocabulary()));
      } catch (RuntimeException e) {
        future.complete(GenerationResult.failed(request.requestId(), FinishReason.ERROR,
            e.getMessage(), prompt.length, System.nanoTime() - now));
        return future;
      }
    }
    Pending pending = new Pending(seq, request, future);
    if (inFlight.putIfAbsent(request.requestId(), pending) != null) {
      future.complete(GenerationResult.failed(request.requestId(), FinishReason.ERROR,
          "request id '" + request.requestId() + "' is already in flight: ids must be unique",
          prompt.length, 0));
      return future;
    }
    inbox.add(pending);
    signal();
    if (closed) { // closed while we queued: the loop may have drained already
      abortAll("engine closed");
    }
    return future;
  }

  @Override
  public boolean cancel(String requestId) {
    if (!inFlight.containsKey(requestId)) {
      return false;
    }
    cancels.add(requestId);
    signal();
    return true;
  }

  @Override
  public EngineStats stats() {
    return stats;
  }

  @Override
  public String device() {
    return runner.device();
  }

  @Override
  public Tokenizer tokenizer() {
    return tokenizer;
  }

  /** The longest sequence this engine runs (config, model and KV capacity). */
  int maxModelLen() {
    return maxModelLen;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    signal();
    try {
      loop.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    abortAll("engine closed");
    runner.close();
    maskPool.shutdown();
    maskWorkers.shutdown();
    if (tokenizer != null) {
      tokenizer.close();
    }
  }

  // ---- the loop (engine thread) ------------------------------------------------------------

  private void runLoop() {
    try {
      loop();
    } catch (Throwable e) { // a bug or a broken device: fail loudly, never leave callers waiting
      LOG.error("engine loop stopped; failing every request in flight", e);
      closed = true;
      for (Pending p : List.copyOf(inFlight.values())) {
        complete(p, FinishReason.ERROR, "engine failed: " + e);
      }
    }
  }

  private void loop() {
    boolean pipelined = config.pipelineDecode() && runner.pipelines();
    ScheduledStep ahead = null; // scheduled ahead and submitted; its tokens not yet collected
    while (!closed) {
      drainInbox();
      long t0 = System.nanoTime();
      ScheduledStep step = ahead;
      if (step == null) {
        if (!scheduler.hasWork()) {
          stats = snapshot();
          if (awaitWork()) {
            sleepQuietly(config.batchWindow().toNanos()); // let a burst join the first step
          }
          continue;
        }
        step = scheduler.schedule(t0);
        if (step.isEmpty()) {
          failUnschedulable();
          continue;
        }
      }
      int[] sampled;
      long t1;
      long t2;
      ScheduledStep next = null;
      try {
        io.redress.inference.runtime.Step forRunner = null;
        if (ahead == null) {
          forRunner = withMasks(step);
        }
        t1 = System.nanoTime();
        if (!pipelined) {
          sampled = runner.step(forRunner);
        } else {
          if (forRunner != null) {
            runner.submit(forRunner);
          }
          // The next decode step goes in behind this one while the GPU runs it, so the host's
          // work between the two (results, scheduling, metadata) leaves the GPU busy.
          next = scheduler.scheduleAhead(step, System.nanoTime());
          if (next != null) {
            runner.submit(aheadWithMasks(next));
          }
          sampled = runner.collect();
        }
        if (forRunner != null && forRunner.masks() != null) {
          forRunner.masks().join(); // its workers advanced matchers: done before postprocess
        }
        t2 = System.nanoTime();
      } catch (RuntimeException e) {
        LOG.error("model step failed; failing the step's requests", e);
        if (pipelined) {
          try {
            runner.abandon();
          } catch (RuntimeException again) {
            LOG.warn("dropping the submitted steps failed too: {}", again.toString());
          }
        }
        scheduler.blockManager().resetPrefixCache();
        ahead = null;
        aheadMasks = null;
        for (Sequence seq : step.seqs()) {
          finish(seq, FinishReason.ERROR, "model step failed: " + e);
        }
        if (next != null) {
          for (Sequence seq : next.seqs()) {
            finish(seq, FinishReason.ERROR, "model step failed: " + e);
          }
        }
        continue;
      }
      ahead = next;
      steps.incrementAndGet();
      long now = System.nanoTime();
      Scheduler.Outcome outcome = scheduler.postprocess(step, sampled, now);
      for (Sequence seq : outcome.updated()) {
        onNewToken(seq);
      }
      for (Sequence seq : outcome.endedWithoutToken()) {
        Pending p = inFlight.get(seq.requestId());
        if (p != null) {
          complete(p, seq.finishReason(), seq.errorMessage());
        }
      }
      if (aheadMasks != null) {
        aheadMasks.start(); // the ahead step's guided rows, now that this step's tokens are in
        aheadMasks = null;
      }
      throughput.record(now, generatedTokens.get());
      long t3 = System.nanoTime();
      runnerNanos += t2 - t1;
      hostNanos += (t1 - t0) + (t3 - t2);
      stats = snapshot();
    }
  }

  // Engine-thread time split of the steps (EngineStats): written and read on that thread.
  private long runnerNanos;
  private long hostNanos;

  /**
   * The step for the runner, with the guided sequences' masks computed on worker threads. Each
   * worker first advances its sequence's matcher over a token the scheduler deferred, so that
   * work also runs beside the forward pass rather than between steps.
   */
  private io.redress.inference.runtime.Step withMasks(ScheduledStep step) {
    Masks masks = masksFor(step);
    if (masks == null) {
      return step.toStep();
    }
    masks.start();
    return step.toStep(masks.future, masks.words);
  }

  /**
   * A step scheduled ahead: its guided rows' masks need the tokens of the step before, so
   * {@link #aheadMasks} starts computing them once that step is postprocessed; the runner
   * samples the step only then.
   */
  private io.redress.inference.runtime.Step aheadWithMasks(ScheduledStep step) {
    aheadMasks = masksFor(step);
    return aheadMasks == null ? step.toStep()
        : step.toStep(aheadMasks.future, aheadMasks.words);
  }

  /** The masks of the step scheduled ahead, not started yet (null: none or started). */
  private Masks aheadMasks;

  /**
   * A step's guided masks: where they go (the runner's pinned staging memory, or an array) and
   * the future the runner samples after; null when no sampling sequence is guided.
   */
  private Masks masksFor(ScheduledStep step) {
    List<Sequence> sampling = new java.util.ArrayList<>();
    boolean guided = false;
    for (int i = 0; i < step.seqs().size(); i++) {
      if (step.samples(i)) {
        Sequence seq = step.seqs().get(i);
        sampling.add(seq);
        guided |= seq.matcher() != null;
      }
    }
    if (!guided) {
      return null;
    }
    return new Masks(sampling, (runner.config().vocabSize() + 31) / 32);
  }

  /** One step's masks: rows in sampling order, computed on the mask workers once started. */
  private final class Masks {
    final List<Sequence> sampling;
    final int words;
    final CompletableFuture<int[]> future = new CompletableFuture<>();

    Masks(List<Sequence> sampling, int words) {
      this.sampling = sampling;
      this.words = words;
    }

    /**
     * Fills the rows into the runner's pinned staging memory (or an array): chosen here, since
     * a step scheduled ahead starts only after the step before it has used that memory.
     */
    void start() {
      int ints = sampling.size() * words;
      // (Not while a failed step's workers may still be writing the staging memory.)
      java.nio.IntBuffer staged = STAGE_MASKS && (lastMasks == null || lastMasks.isDone())
          ? runner.maskStaging(ints) : null;
      int[] all = staged != null ? io.redress.inference.runtime.Step.STAGED : maskArray(ints);
      java.nio.IntBuffer into = staged != null ? staged : java.nio.IntBuffer.wrap(all);
      lastMasks = future;
      future.completeAsync(() -> {
        long t0 = System.nanoTime();
        java.util.stream.IntStream.range(0, sampling.size()).parallel()
            .forEach(r -> fillMask(sampling.get(r), r * words, words, into));
        guidedMaskNanos.addAndGet(System.nanoTime() - t0);
        return all;
      }, maskWorkers);
    }
  }

  /**
   * A sequence's row of the step's masks at word {@code at} (the runner's staging memory or
   * the step's array): its next allowed tokens after the deferred one, all ones if unguided.
   */
  private static void fillMask(Sequence seq, int at, int words, java.nio.IntBuffer into) {
    GrammarMatcher m = seq.matcher();
    // A sequence that ended after its step was scheduled ahead: its token will be dropped.
    if (m == null || seq.status() == Sequence.Status.FINISHED) {
      for (int i = at; i < at + words; i++) {
        into.put(i, -1);
      }
      return;
    }
    seq.advanceMatcher();
    m.fillNextTokenBitmask(into, at);
  }

  /** {@code redress.stageMasks=false}: masks in an int[] the runner copies (comparisons). */
  private static final boolean STAGE_MASKS =
      !"false".equals(System.getProperty("redress.stageMasks"));
  private int[] maskArray;
  private CompletableFuture<int[]> lastMasks;

  /**
   * The step's mask array: one reused from step to step (a runner is done with a step's masks
   * when its step returns). A new one each step (1.2 MB at batch 64, zeroed on the engine
   * thread while the GPU waited, and garbage after) took 0.2-0.8 ms a step: 0.5B guided ran at
   * 72 % of unguided with it, 87 % without, same call.
   */
  private int[] maskArray(int ints) {
    if (lastMasks != null && !lastMasks.isDone()) {
      return new int[ints]; // a failed step's masks may still be being written
    }
    if (maskArray == null || maskArray.length < ints) {
      maskArray = new int[ints];
    }
    return maskArray;
  }

  /**
   * Jump-forward: the tokens spelling exactly the forced bytes, or none. A schema forces few
   * distinct strings (keys, punctuation, enum tails), so their tokens are cached.
   */
  private int[] forcedTokens(byte[] forced) {
    if (tokenizer == null) {
      return new int[0];
    }
    String key = new String(forced, java.nio.charset.StandardCharsets.ISO_8859_1);
    int[] cached = forcedTokenCache.get(key);
    if (cached == null) {
      cached = tokenizeForced(forced);
      if (forcedTokenCache.size() < 65_536) {
        forcedTokenCache.put(key, cached);
      }
    }
    return cached;
  }

  private int[] tokenizeForced(byte[] forced) {
    String text;
    try {
      text = java.nio.charset.StandardCharsets.UTF_8.newDecoder()
          .decode(java.nio.ByteBuffer.wrap(forced)).toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      return new int[0]; // starts inside a character: let the model sample it
    }
    int[] ids = tokenizer.encode(text);
    // The tokenizer normalises (NFC): only jump when the tokens spell the bytes exactly.
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    for (int id : ids) {
      bytes.writeBytes(tokenizer.tokenBytes(id));
    }
    return java.util.Arrays.equals(bytes.toByteArray(), forced) ? ids : new int[0];
  }

  private synchronized TokenVocabulary vocabulary() {
    if (tokenizer == null) {
      throw new IllegalArgumentException("guided decoding needs the model's tokenizer.json");
    }
    if (vocabulary == null) {
      vocabulary = TokenVocabulary.of(tokenizer, runner.config().vocabSize(),
          new HashSet<>(runner.config().eosTokenIds()));
    }
    return vocabulary;
  }

  private void drainInbox() {
    Pending p;
    while ((p = inbox.poll()) != null) {
      promptTokens.addAndGet(p.seq().numPromptTokens());
      scheduler.add(p.seq());
    }
    String id;
    while ((id = cancels.poll()) != null) {
      Pending pending = inFlight.get(id);
      if (pending != null) {
        finish(pending.seq(), FinishReason.ABORT, "cancelled");
      }
    }
  }

  private void onNewToken(Sequence seq) {
    generatedTokens.incrementAndGet();
    Pending p = inFlight.get(seq.requestId());
    if (p == null) {
      return;
    }
    if (seq.numGenerated() == 1) {
      prefixHitTokens.addAndGet(seq.numCachedTokens());
    }
    TokenListener listener = p.request().listener();
    if (listener != null) {
      List<Integer> generated = seq.generated();
      try {
        for (int i = p.delivered()[0]; i < generated.size(); i++) {
          listener.onToken(seq.requestId(), generated.get(i), i);
        }
      } catch (RuntimeException e) {
        LOG.warn("token listener of {} failed: {}", seq.requestId(), e.toString());
      }
      p.delivered()[0] = generated.size();
    }
    List<String> stops = seq.params().stop();
    if (seq.status() != Sequence.Status.FINISHED && !stops.isEmpty() && tokenizer != null) {
      String text = decode(seq.generated());
      for (String stop : stops) {
        if (text.contains(stop)) {
          scheduler.finish(seq, FinishReason.STOP);
          break;
        }
      }
    }
    if (seq.status() == Sequence.Status.FINISHED) {
      complete(p, seq.finishReason(), seq.errorMessage());
    }
  }

  private void finish(Sequence seq, FinishReason reason, String message) {
    scheduler.finish(seq, reason);
    Pending p = inFlight.get(seq.requestId());
    if (p != null) {
      complete(p, reason, message);
    }
  }

  private void complete(Pending p, FinishReason reason, String message) {
    Sequence seq = p.seq();
    if (!inFlight.remove(seq.requestId(), p)) {
      return;
    }
    List<Integer> ids = seq.generated();
    long now = System.nanoTime();
    p.future().complete(new GenerationResult(seq.requestId(), text(seq, ids, reason), ids,
        reason, message, seq.numPromptTokens(), seq.numCachedTokens(), ids.size(),
        (seq.firstScheduledNanos() < 0 ? now : seq.firstScheduledNanos()) - seq.arrivalNanos(),
        seq.firstTokenNanos() < 0 ? 0 : seq.firstTokenNanos() - seq.arrivalNanos(),
        now - seq.arrivalNanos()));
  }

  /** Visible text: without a final stop token, cut before the first stop string. */
  private String text(Sequence seq, List<Integer> ids, FinishReason reason) {
    if (tokenizer == null || ids.isEmpty()) {
      return "";
    }
    List<Integer> visible = ids;
    int last = ids.get(ids.size() - 1);
    if (reason == FinishReason.STOP && (seq.params().stopTokenIds().contains(last)
        || (!seq.params().ignoreEos() && runner.config().eosTokenIds().contains(last)))) {
      visible = ids.subList(0, ids.size() - 1);
    }
    String text = decode(visible);
    int cut = text.length();
    for (String stop : seq.params().stop()) {
      int at = text.indexOf(stop);
      if (at >= 0) {
        cut = Math.min(cut, at);
      }
    }
    return text.substring(0, cut);
  }

  private void failUnschedulable() {
    // Nothing fits although work waits: only possible for a sequence larger than the pool.
    for (Sequence seq : scheduler.live()) {
      finish(seq, FinishReason.ERROR, "sequence of " + seq.length() + " tokens does not fit"
          + " the KV cache of " + runner.numBlocks() * runner.blockSize() + " tokens; give"
          + " the cache more blocks or shorten the prompt");
      return;
    }
  }

  private void abortAll(String message) {
    for (Pending p : List.copyOf(inFlight.values())) {
      complete(p, FinishReason.ABORT, message);
    }
  }

  private boolean awaitWork() {
    lock.lock();
    try {
      boolean waited = false;
      while (!closed && inbox.isEmpty() && cancels.isEmpty()) {
        wakeUp.awaitUninterruptibly();
        waited = true;
      }
      return waited && !closed;
    } finally {
      lock.unlock();
    }
  }

  private void signal() {
    lock.lock();
    try {
      wakeUp.signalAll();
    } finally {
      lock.unlock();
    }
  }

  private static void sleepQuietly(long nanos) {
    if (nanos > 0) {
      java.util.concurrent.locks.LockSupport.parkNanos(nanos);
    }
  }

  // ---- helpers -------------------------------------------------------------------------------

  private int[] promptIds(GenerationRequest r) {
    if (r.promptTokenIds() != null) {
      return r.promptTokenIds();
    }
    if (tokenizer == null) {
      throw new IllegalArgumentException("the model directory has no tokenizer.json: submit"
          + " token ids, or add the tokenizer to " + config.modelDir());
    }
    String text = r.prompt() != null ? r.prompt() : template.render(r.messages(), true);
    return tokenizer.encode(text);
  }

  /** Why a prompt cannot run, or null. */
  private String check(int[] prompt) {
    if (prompt.length == 0) {
      return "empty prompt: give at least one token";
    }
    if (prompt.length >= maxModelLen) {
      return "prompt of " + prompt.length + " tokens is too long: the maximum model length is "
          + maxModelLen + " tokens, prompt and output together; shorten the prompt or raise"
          + " maxModelLen";
    }
    int vocab = runner.config().vocabSize();
    for (int id : prompt) {
      if (id < 0 || id >= vocab) {
        return "prompt token id " + id + " is outside the model's vocabulary [0, " + vocab + ")";
      }
    }
    return null;
  }

  private synchronized long nextSeed() {
    return seeds.nextLong();
  }

  private String decode(List<Integer> ids) {
    return tokenizer.decode(ids.stream().mapToInt(Integer::intValue).toArray());
  }

  private EngineStats snapshot() {
    BlockManager bm = scheduler.blockManager();
    return new EngineStats(scheduler.numRunning(), scheduler.numWaiting(), bm.numUsedBlocks(),
        bm.numBlocks(), promptTokens.get(), prefixHitTokens.get(), generatedTokens.get(),
        scheduler.preemptions(), steps.get(), throughput.perSecond(), guidedMaskNanos.get(),
        scheduler.jumpForwardTokens(), runnerNanos, hostNanos);
  }
}
