package io.redress.inference.runtime.cuda;

import io.redress.inference.model.ModelConfig;
import io.redress.inference.runtime.ModelRunner;
import io.redress.inference.runtime.Step;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One model over several GPUs of this process (tensor parallelism): rank r is a
 * {@link CudaModelRunner} on GPU {@code options.device() + r} holding {@link Shard} r of the
 * weights and the KV cache of its heads. Every step runs on all ranks at once. A decode step
 * replays one CUDA graph per rank, so the calling thread launches them all and then waits; any
 * other step runs each rank from its own thread (a rank's kernels wait for the others' inside
 * the all-reduces, so one thread enqueueing rank after rank could block on a full launch queue
 * before reaching the next). Rank 0 samples; the step returns when every rank has finished.
 *
 * <p>All ranks hold the same number of KV blocks (rank 0's, sized from its free memory), so
 * the engine's block tables are valid on each.
 */
public final class TensorParallelRunner implements ModelRunner {

  private static final Logger LOG = LoggerFactory.getLogger(TensorParallelRunner.class);

  private final ModelConfig config;
  private final List<CudaModelRunner> ranks;
  private final ExecutorService workers; // ranks 1 .. size-1; rank 0 runs on the caller
  private boolean closed;

  private TensorParallelRunner(ModelConfig config, List<CudaModelRunner> ranks,
      ExecutorService workers) {
    this.config = config;
    this.ranks = List.copyOf(ranks);
    this.workers = workers;
  }

  /** Loads a model directory over {@code size} GPUs from {@code options.device()} on. */
  public static TensorParallelRunner load(Path modelDir, CudaModelRunner.Options options,
      int size) {
    ModelConfig config = ModelConfig.load(modelDir);
    return open(config, options, size,
        (shard, opts) -> CudaModelRunner.load(modelDir, opts, shard));
  }

  /** A model of this architecture with random weights, over {@code size} GPUs (benchmarks). */
  public static TensorParallelRunner random(ModelConfig config, CudaModelRunner.Options options,
      long seed, int gptqGroup, int size) {
    // Each rank draws its own shard: the model is random either way.
    return open(config, options, size,
        (shard, opts) -> CudaModelRunner.random(config, opts, seed + shard.rank(), gptqGroup,
            shard));
  }

  private interface RankFactory {
    CudaModelRunner create(Shard shard, CudaModelRunner.Options options);
  }

  private static TensorParallelRunner open(ModelConfig config, CudaModelRunner.Options options,
      int size, RankFactory factory) {
    if (size < 2) {
      throw new IllegalArgumentException("tensor parallelism needs at least 2 GPUs, got "
          + size + "; use CudaModelRunner for one");
    }
    if (size > PeerAllReduce.MAX_RANKS) {
      throw new IllegalArgumentException("tensor parallel size " + size + " exceeds the "
          + PeerAllReduce.MAX_RANKS + " ranks supported");
    }
    Shard.check(config, size);
    for (int r = 0; r < size; r++) {
      CudaDevice.Availability gpu = CudaDevice.probe(options.device() + r);
      if (!gpu.usable()) {
        throw new IllegalArgumentException("tensor parallel size " + size + " from GPU "
            + options.device() + " needs GPU " + (options.device() + r) + ": " + gpu.reason());
      }
    }
    ExecutorService workers = Executors.newFixedThreadPool(size - 1, r -> {
      Thread t = new Thread(r, "redress-tp-rank");
      t.setDaemon(true);
      return t;
    });
    List<CudaModelRunner> ranks = new ArrayList<>();
    try {
      // Rank 0 sizes the KV cache from its free memory; the others hold as many blocks.
      ranks.add(factory.create(new Shard(0, size), options));
      CudaModelRunner.Options rest = new CudaModelRunner.Options(options.device(),
          options.blockSize(), ranks.get(0).numBlocks(), options.kvCacheFraction(),
          options.maxNumSeqs(), options.maxNumBatchedTokens(), options.maxModelLen(),
          options.kvCacheDtype());
      for (int r = 1; r < size; r++) {
        CudaModelRunner.Options o = withDevice(rest, options.device() + r);
        ranks.add(factory.create(new Shard(r, size), o));
      }
      PeerAllReduce.connect(ranks.stream().map(CudaModelRunner::allReduce).toList());
    } catch (RuntimeException e) {
      ranks.forEach(CudaModelRunner::close);
      workers.shutdownNow();
      throw e;
    }
    LOG.info("tensor parallel over {} GPUs from {}: {} KV blocks a rank", size,
        ranks.get(0).device(), ranks.get(0).numBlocks());
    return new TensorParallelRunner(config, ranks, workers);
  }

  /** One rank's shapes of {@code config} split over {@code size} GPUs (benchmarks). */
  public static ModelConfig rankConfig(ModelConfig config, int size) {
    return size == 1 ? config : new Shard(0, size).local(config);
  }

  /** The LM-head rows one rank computes ({@code rankConfig}'s model, split over size). */
  public static int rankVocabRows(ModelConfig config, int size) {
    return (int) new Shard(0, size).vocabRows(config).rows();
  }

  private static CudaModelRunner.Options withDevice(CudaModelRunner.Options o, int device) {
    return new CudaModelRunner.Options(device, o.blockSize(), o.numBlocks(),
        o.kvCacheFraction(), o.maxNumSeqs(), o.maxNumBatchedTokens(), o.maxModelLen(),
        o.kvCacheDtype());
  }

  @Override
  public ModelConfig config() {
    return config;
  }

  @Override
  public int numBlocks() {
    return ranks.get(0).numBlocks();
  }

  @Override
  public int blockSize() {
    return ranks.get(0).blockSize();
  }

  @Override
  public boolean prefersUniformDecodeSteps() {
    return true;
  }

  @Override
  public String device() {
    return ranks.get(0).device() + " x" + ranks.size() + " (tensor parallel)";
  }

  /** Rank {@code r}'s runner (tests, benchmarks). */
  public CudaModelRunner rank(int r) {
    return ranks.get(r);
  }

  @Override
  public int[] step(Step step) {
    if (ranks.get(0).runsAsGraph(step)) {
      // One graph launch per rank from this thread: no hand-off to another thread, whose
      // wake-up would delay that rank's graph and so every rank at the first all-reduce.
      if (closed) {
        throw new IllegalStateException("tensor parallel runner is closed");
      }
      for (int r = 1; r < ranks.size(); r++) {
        ranks.get(r).forward(step, false);
      }
      int[] sampled = ranks.get(0).step(step);
      for (int r = 1; r < ranks.size(); r++) {
        ranks.get(r).synchronize();
      }
      return sampled;
    }
    return onAllRanks(r -> r == 0 ? ranks.get(0).step(step) : forward(r, step));
  }

  /** Runs a step and returns rank 0's logits of each sampling sequence (tests). */
  public float[] stepLogits(Step step) {
    return onAllRanks(r -> r == 0 ? ranks.get(0).stepLogits(step) : forward(r, step));
  }

  private <T> T forward(int rank, Step step) {
    ranks.get(rank).forward(step);
    return null;
  }

  /** Runs {@code work} for every rank, rank 0 on this thread; returns rank 0's result. */
  private <T> T onAllRanks(IntFunction<T> work) {
    if (closed) {
      throw new IllegalStateException("tensor parallel runner is closed");
    }
    List<Future<T>> others = new ArrayList<>();
    for (int r = 1; r < ranks.size(); r++) {
      int rank = r;
      others.add(workers.submit(() -> work.apply(rank)));
    }
    RuntimeException failure = null;
    T result = null;
    try {
      result = work.apply(0);
    } catch (RuntimeException e) {
      failure = e;
    }
    for (Future<T> f : others) {
      try {
        f.get();
      } catch (ExecutionException e) {
        if (failure == null) {
          failure = e.getCause() instanceof RuntimeException re ? re
              : new IllegalStateException(e.getCause());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while the ranks ran a step", e);
      }
    }
    if (failure != null) {
      throw failure;
    }
    return result;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    workers.shutdown();
    ranks.forEach(CudaModelRunner::close);
  }
}
