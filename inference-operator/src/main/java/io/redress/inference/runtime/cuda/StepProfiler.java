package io.redress.inference.runtime.cuda;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jcuda.driver.CUevent;
import jcuda.driver.CUstream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Optional per-operation GPU timings of eager steps (system property
 * {@code redress.cuda.profile=true}): an event after each operation, elapsed times summed by
 * operation name and logged every few hundred steps. Off by default: events cost launches.
 */
final class StepProfiler implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(StepProfiler.class);
  static final boolean ENABLED = Boolean.getBoolean("redress.cuda.profile");
  /** Steps per logged summary ({@code redress.cuda.profileEvery}; 1 shows each step alone). */
  static final int EVERY = Math.max(1, Integer.getInteger("redress.cuda.profileEvery", 200));

  private final CUstream stream;
  private final List<CUevent> events = new ArrayList<>();
  private final List<String> names = new ArrayList<>();
  private final Map<String, double[]> totals = new LinkedHashMap<>(); // name -> {ms, count}
  private int used;
  private int steps;
  private long hostNanos;

  StepProfiler(CUstream stream) {
    this.stream = stream;
  }

  /** Starts a step (records the first event). */
  void begin() {
    used = 0;
    names.clear();
    mark("start");
  }

  /** Marks the end of operation {@code name}. */
  void mark(String name) {
    if (used == events.size()) {
      CUevent e = new CUevent();
      cuEventCreate(e, 0);
      events.add(e);
    }
    cuEventRecord(events.get(used++), stream);
    names.add(name);
  }

  /** Ends a step; {@code stepNanos} is its wall time on the host. */
  void end(long stepNanos) {
    cuEventSynchronize(events.get(used - 1));
    float[] ms = new float[1];
    for (int i = 1; i < used; i++) {
      cuEventElapsedTime(ms, events.get(i - 1), events.get(i));
      double[] t = totals.computeIfAbsent(names.get(i), k -> new double[2]);
      t[0] += ms[0];
      t[1]++;
    }
    hostNanos += stepNanos;
    if (++steps % EVERY == 0) {
      StringBuilder sb = new StringBuilder("GPU time per step by operation (last " + EVERY
          + " steps, wall " + String.format("%.3f", hostNanos / 1e6 / EVERY) + " ms/step):");
      double sum = 0;
      for (var e : totals.entrySet()) {
        sum += e.getValue()[0];
        sb.append(String.format(" %s %.3f ms;", e.getKey(), e.getValue()[0] / EVERY));
      }
      sb.append(String.format(" total %.3f ms", sum / EVERY));
      LOG.info(sb.toString());
      totals.clear();
      hostNanos = 0;
    }
  }

  @Override
  public void close() {
    events.forEach(e -> cuEventDestroy(e));
    events.clear();
  }
}
