package io.redress.inference.runtime.cuda;

import static jcuda.driver.JCudaDriver.cuGraphDestroy;
import static jcuda.driver.JCudaDriver.cuGraphExecDestroy;
import static jcuda.driver.JCudaDriver.cuGraphInstantiate;
import static jcuda.driver.JCudaDriver.cuGraphLaunch;
import static jcuda.driver.JCudaDriver.cuStreamBeginCapture;
import static jcuda.driver.JCudaDriver.cuStreamEndCapture;

import java.util.HashMap;
import java.util.Map;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUstreamCaptureMode;

/**
 * CUDA graphs of the forward pass, captured on first use under a key of the runner's choosing:
 * pure decode steps by padded batch size (bucket), other steps up to 1,024 tokens by padded
 * token count and sampling rows. A captured forward pass reads everything that changes between
 * steps (token ids, positions, slots, block tables, sampling parameters) from fixed device
 * buffers, so replaying it needs only the metadata copy before and the sampled ids after.
 */
final class DecodeGraphs implements AutoCloseable {

  private static final int[] BUCKETS = {1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 80, 96, 112, 128,
      160, 192, 224, 256, 320, 384, 448, 512};

  private final CudaDevice device;
  private final int maxBatch;
  private final Map<Long, CUgraphExec> execs = new HashMap<>();
  private final Map<Long, CUgraph> graphs = new HashMap<>();
  private final boolean enabled;

  DecodeGraphs(CudaDevice device, int maxBatch) {
    this.device = device;
    this.maxBatch = maxBatch;
    this.enabled = !Boolean.getBoolean("redress.cuda.noGraphs");
  }

  /** The bucket for a decode batch of {@code n}, or 0 to run it eagerly. */
  int bucketFor(int n) {
    if (!enabled) {
      return 0;
    }
    for (int b : BUCKETS) {
      if (b >= n) {
        return b <= maxBatch ? b : 0;
      }
    }
    return 0;
  }

  /** The pure decode buckets a step may use (none when graphs are off). */
  int[] decodeBuckets() {
    return enabled ? java.util.Arrays.stream(BUCKETS).filter(b -> b <= maxBatch).toArray()
        : new int[0];
  }

  /** Replays the graph of {@code key}, capturing {@code forward} into it first if needed. */
  void launch(long key, Runnable forward) {
    capture(key, forward);
    cuGraphLaunch(execs.get(key), device.stream());
  }

  /**
   * Captures {@code forward} (which only enqueues work) as the graph of {@code key} unless it
   * has one; nothing runs. Returns whether it captured.
   */
  boolean capture(long key, Runnable forward) {
    if (execs.containsKey(key)) {
      return false;
    }
    CUgraph graph = new CUgraph();
    cuStreamBeginCapture(device.stream(), CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
    forward.run();
    cuStreamEndCapture(device.stream(), graph);
    CUgraphExec exec = new CUgraphExec();
    cuGraphInstantiate(exec, graph, 0);
    graphs.put(key, graph);
    execs.put(key, exec);
    return true;
  }

  /** Whether the graph of {@code key} is captured. */
  boolean has(long key) {
    return execs.containsKey(key);
  }

  /** Graphs captured so far (tests). */
  int size() {
    return execs.size();
  }

  /** The keys of the graphs captured so far (tests). */
  java.util.Set<Long> keys() {
    return java.util.Collections.unmodifiableSet(execs.keySet());
  }

  @Override
  public void close() {
    execs.values().forEach(e -> cuGraphExecDestroy(e));
    graphs.values().forEach(g -> cuGraphDestroy(g));
    execs.clear();
    graphs.clear();
  }
}
