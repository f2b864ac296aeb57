package io.redress.inference.runtime.cuda;

import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.engine.SamplingParams;
import io.redress.inference.model.SafeTensorsWriter;
import io.redress.inference.runtime.SeqStep;
import io.redress.inference.runtime.Step;
import io.redress.inference.testing.Fixtures;
import io.redress.inference.testing.Gpu;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * Tensor parallelism over two GPUs (skipped with fewer): the peer all-reduce kernel against
 * the host's sum, the fixture models split over both GPUs against the reference under the
 * single-GPU runner's bf16 rules, and device memory returned on both after close.
 */
@Tag("gpu")
class TensorParallelGpuTest {

  static final List<String> MODELS = Fixtures.MODELS;

  @BeforeEach
  void twoGpus() {
    Gpu.assumeGpus(2);
  }

  /** One rank of the kernel test: its device, kernels, all-reduce and buffers. */
  private record Rank(CudaDevice device, Kernels kernels, PeerAllReduce allReduce,
      DeviceBuffer x, DeviceBuffer w, DeviceBuffer out, DeviceBuffer rows) {

    static Rank open(int r, int maxRows, int hidden) {
      CudaDevice device = CudaDevice.open(r);
      return new Rank(device, new Kernels(device.stream()),
          new PeerAllReduce(device, r, 2, (long) maxRows * hidden, hidden),
          device.alloc(4L * maxRows * hidden), device.alloc(2L * hidden),
          device.alloc(2L * maxRows * hidden), device.alloc(4L * maxRows));
    }

    void close() {
      kernels.close();
      device.close();
    }
  }

  @Test
  void allReduceAddsEveryRanksPartialInRankOrderThenNorms() {
    int hidden = 5120;
    int maxRows = 300; // more rows than SMs: blocks loop over rows
    float eps = 1e-6f;
    Random random = new Random(5);
    List<Rank> ranks = List.of(Rank.open(0, maxRows, hidden), Rank.open(1, maxRows, hidden));
    try {
      PeerAllReduce.connect(ranks.stream().map(Rank::allReduce).toList());
      float[] x = gaussian(random, maxRows * hidden, 1f);
      float[] w = gaussian(random, hidden, 0.5f);
      short[] wBits = new short[hidden];
      for (int i = 0; i < hidden; i++) {
        wBits[i] = SafeTensorsWriter.floatToBf16(w[i]);
        w[i] = bf16(wBits[i]);
      }
      for (Rank r : ranks) {
        upload(r, r.x().ptr(), Pointer.to(x), 4L * x.length);
        upload(r, r.w().ptr(), Pointer.to(wBits), 2L * hidden);
      }
      int launches = 0;
      for (int[] shape : new int[][] {{1, 0}, {3, 1}, {300, 0}, {7, 1}, {1, 1}, {300, 1}}) {
        int rows = shape[0];
        int part = launches++ % 2;
        int[] index = shape[1] == 1
            ? random.ints(rows, 0, maxRows).distinct().toArray() : null;
        int n = index == null ? rows : index.length;
        float[][] partials = new float[2][];
        for (int k = 0; k < 2; k++) {
          Rank r = ranks.get(k);
          partials[k] = gaussian(random, maxRows * hidden, 0.5f);
          upload(r, r.allReduce().part(part), Pointer.to(partials[k]), 4L * maxRows * hidden);
          if (index != null) {
            upload(r, r.rows().ptr(), Pointer.to(index), 4L * n);
          }
        }
        // Both ranks' launches are queued before either is waited for: each waits for the other.
        for (Rank r : ranks) {
          r.device().makeCurrent();
          r.allReduce().addRmsnorm(r.kernels(), part, r.x().ptr(),
              index == null ? null : r.rows().ptr(), r.w().ptr(), r.out().ptr(), hidden, eps, n);
        }
        float[][] xs = new float[2][x.length];
        short[][] outs = new short[2][n * hidden];
        for (int k = 0; k < 2; k++) {
          Rank r = ranks.get(k);
          r.device().makeCurrent();
          r.device().synchronize();
          cuMemcpyDtoH(Pointer.to(xs[k]), r.x().ptr(), 4L * x.length);
          cuMemcpyDtoH(Pointer.to(outs[k]), r.out().ptr(), 2L * n * hidden);
        }
        for (int j = 0; j < n; j++) {
          int src = index == null ? j : index[j];
          double ss = 0;
          for (int i = 0; i < hidden; i++) {
            int at = src * hidden + i;
            float sum = 0f + partials[0][at];
            sum += partials[1][at];
            x[at] += sum;
            ss += (double) x[at] * x[at];
          }
          double inv = 1 / Math.sqrt(ss / hidden + eps);
          for (int i = 0; i < hidden; i++) {
            double expected = w[i] * x[src * hidden + i] * inv;
            float got = bf16(outs[0][j * hidden + i]);
            assertThat((double) got).as("row %d (source %d), element %d", j, src, i)
                .isCloseTo(expected, org.assertj.core.data.Offset.offset(
                    1e-2 * Math.abs(expected) + 1e-3));
          }
        }
        assertThat(xs[0]).as("rank 0's residual stream: x + (p0 + p1), exactly").isEqualTo(x);
        assertThat(xs[1]).as("rank 1's: bit-identical to rank 0's").isEqualTo(xs[0]);
        assertThat(outs[1]).as("normed rows identical on both ranks").isEqualTo(outs[0]);
      }
    } finally {
      ranks.forEach(Rank::close);
    }
  }

  @ParameterizedTest
  @FieldSource("MODELS")
  void fixturesSplitOverTwoGpusMatchTheReference(String name) {
    CudaModelRunnerGpuTest.check(name, CudaModelRunnerGpuTest.TOLERANCE, (dir, options) -> {
      TensorParallelRunner r = TensorParallelRunner.load(dir, options, 2);
      assertThat(r.device()).contains("tensor parallel");
      return CudaModelRunnerGpuTest.of(r::stepLogits, r::close);
    });
  }

  @Test
  void closeReturnsBothGpusMemory() {
    var dir = Fixtures.modelDir("qwen2-small-untied");
    CudaModelRunner.Options options = new CudaModelRunner.Options(0, 16, 256, 0.9, 8, 256, 512);
    try (CudaDevice g0 = CudaDevice.open(0); CudaDevice g1 = CudaDevice.open(1)) {
      run(TensorParallelRunner.load(dir, options, 2)); // library state that lives per context
      long[] before = {free(g0), free(g1)};
      run(TensorParallelRunner.load(dir, options, 2));
      long[] after = {free(g0), free(g1)};
      System.out.printf("free MiB before %d / %d, after close %d / %d%n", before[0] >> 20,
          before[1] >> 20, after[0] >> 20, after[1] >> 20);
      for (int g = 0; g < 2; g++) {
        assertThat(Math.abs(after[g] - before[g])).as("GPU %d bytes not returned", g)
            .isLessThanOrEqualTo(2L << 20);
      }
    }
  }

  /** A prompt and 20 greedy decode steps, then close. */
  private static void run(TensorParallelRunner runner) {
    try (runner) {
      int[] table = IntStream.range(0, 8).toArray();
      SamplingParams greedy = SamplingParams.greedy(1);
      int[] prompt = {5, 17, 99, 3, 250, 1024, 7};
      int next = runner.step(new Step(prompt,
          List.of(new SeqStep(prompt.length, 0, table, true, greedy, 0, 0))))[0];
      for (int j = 1; j <= 20; j++) {
        next = runner.step(new Step(new int[] {next},
            List.of(new SeqStep(1, prompt.length + j - 1, table, true, greedy, 0, j))))[0];
        assertThat(next).isBetween(0, runner.config().vocabSize() - 1);
      }
    }
  }

  private static long free(CudaDevice d) {
    d.makeCurrent();
    return d.memInfo()[0];
  }

  private static void upload(Rank r, CUdeviceptr dst, Pointer src, long bytes) {
    r.device().makeCurrent();
    cuMemcpyHtoD(dst, src, bytes);
    cuCtxSynchronize(); // the kernels' non-blocking stream does not wait for this copy
  }

  private static float bf16(short bits) {
    return Float.intBitsToFloat((bits & 0xFFFF) << 16);
  }

  private static float[] gaussian(Random r, int n, float std) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (r.nextGaussian() * std);
    }
    return v;
  }
}
