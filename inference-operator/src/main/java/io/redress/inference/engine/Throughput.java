package io.redress.inference.engine;

import java.util.ArrayDeque;

/** Tokens per second over the last few seconds, from (time, cumulative count) samples. */
final class Throughput {

  private static final long WINDOW_NANOS = 5_000_000_000L;
  private final ArrayDeque<long[]> samples = new ArrayDeque<>();

  synchronized void record(long nowNanos, long total) {
    samples.addLast(new long[] {nowNanos, total});
    while (samples.size() > 2 && samples.peekFirst()[0] < nowNanos - WINDOW_NANOS) {
      samples.pollFirst();
    }
  }

  synchronized double perSecond() {
    if (samples.size() < 2) {
      return 0;
    }
    long[] first = samples.peekFirst();
    long[] last = samples.peekLast();
    long dt = last[0] - first[0];
    return dt <= 0 ? 0 : (last[1] - first[1]) * 1e9 / dt;
  }
}
