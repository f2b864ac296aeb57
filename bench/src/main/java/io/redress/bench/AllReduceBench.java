package io.redress.bench;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuGraphDestroy;
import static jcuda.driver.JCudaDriver.cuGraphExecDestroy;
import static jcuda.driver.JCudaDriver.cuGraphInstantiate;
import static jcuda.driver.JCudaDriver.cuGraphLaunch;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemsetD32Async;
import static jcuda.driver.JCudaDriver.cuStreamBeginCapture;
import static jcuda.driver.JCudaDriver.cuStreamEndCapture;
import static jcuda.driver.JCudaDriver.cuStreamIsCapturing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.redress.inference.runtime.cuda.CudaDevice;
import io.redress.inference.runtime.cuda.DeviceBuffer;
import io.redress.inference.runtime.cuda.Kernels;
import io.redress.inference.runtime.cuda.Nccl;
import io.redress.inference.runtime.cuda.PeerAllReduce;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUstreamCaptureMode;
import jcuda.driver.CUstreamCaptureStatus;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bench allreduce}: a float32 sum all-reduce across the GPUs of one host, one thread
 * driving all of them as the tensor-parallel engine will, at the sizes a 14B model reduces per
 * layer (its 5120-float hidden row times 1, 4, 16, 128 and 1024 tokens). Each implementation is
 * timed eagerly (one all-reduce enqueued after another) and replayed from CUDA graphs of
 * {@value #PER_GRAPH} all-reduces (as the decode step will run it), in microseconds per
 * all-reduce and bandwidth. NCCL is the reference; our peer-to-peer all-reduce is timed by the
 * same functions as one more {@link Implementation}.
 */
@Command(name = "allreduce", mixinStandardHelpOptions = true,
    description = "All-reduce latency and bandwidth across GPUs of one host: NCCL, eager and in"
        + " CUDA graphs (needs --gpus GPUs and NCCL). Writes allreduce-<N>gpu.json and .md.")
final class AllReduceBench implements Callable<Integer> {

  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT);
  /** All-reduces per captured graph. */
  static final int PER_GRAPH = 20;
  private static final int WARMUP = 20;
  /** Timed batches per measurement; the median is reported. */
  private static final int REPEATS = 5;

  @Option(names = "--gpus", defaultValue = "2",
      description = "GPUs 0..N-1, one rank each (1 runs NCCL's single-rank copy: a smoke test).")
  int gpus;
  @Option(names = "--sizes", split = ",", defaultValue = "5120,20480,81920,655360,5242880",
      description = "All-reduce sizes in floats (default: 1, 4, 16, 128 and 1024 tokens of a"
          + " 5120-wide hidden row).")
  List<Long> sizes;
  @Option(names = "--iters", defaultValue = "200",
      description = "All-reduces per timed batch (graphs: rounded up to whole graphs).")
  int iters;
  @Option(names = "--out", defaultValue = "bench-results", paramLabel = "DIR") Path out;
  @Option(names = "--hidden", defaultValue = "5120", paramLabel = "FLOATS",
      description = "Row width the peer all-reduce reduces by (a model's hidden size; default:"
          + " ${DEFAULT-VALUE}).")
  int hidden;

  /**
   * An all-reduce under test: enqueues one float32 sum all-reduce of {@code count} floats on
   * every rank's stream, rank i from {@code send.get(i)} into {@code recv.get(i)}, from this
   * thread, without synchronizing; capturable when the streams are being captured.
   *
   * @param name as reported
   * @param enqueue the enqueueing call
   */
  record Implementation(String name, Ranks ranks, Enqueue enqueue) {}

  /** See {@link Implementation}. */
  @FunctionalInterface
  interface Enqueue {
    void allReduce(List<CUdeviceptr> send, List<CUdeviceptr> recv, long count);
  }

  /**
   * One implementation at one size. Microseconds per all-reduce: GPU time between CUDA events
   * on rank 0's stream, and host wall time until every device finished; graph times are NaN
   * when the implementation could not be captured (then {@code graphNote} says why).
   */
  record Row(String implementation, long count, double eagerMicros, double eagerWallMicros,
      double graphMicros, double graphWallMicros, String graphNote) {}

  /** The ranks' devices with a send and a receive buffer each, of the largest size. */
  private record Ranks(List<CudaDevice> devices, List<DeviceBuffer> sendBuffers,
      List<DeviceBuffer> recvBuffers, List<CUdeviceptr> send, List<CUdeviceptr> recv) {

    static Ranks of(List<CudaDevice> devices, List<DeviceBuffer> s, List<DeviceBuffer> r) {
      return new Ranks(devices, s, r, s.stream().map(DeviceBuffer::ptr).toList(),
          r.stream().map(DeviceBuffer::ptr).toList());
    }

    static Ranks allocate(List<CudaDevice> devices, long maxCount) {
      List<DeviceBuffer> s = new ArrayList<>();
      List<DeviceBuffer> r = new ArrayList<>();
      for (CudaDevice d : devices) {
        d.makeCurrent(); // cuMemAlloc allocates in the current context
        s.add(d.alloc(4 * maxCount));
        r.add(d.alloc(4 * maxCount));
      }
      return of(devices, s, r);
    }

    int size() {
      return devices.size();
    }

    /** Send buffer of rank i holds i + 1 everywhere, so every sum is n(n+1)/2. */
    void fillSend(long count) {
      for (int i = 0; i < size(); i++) {
        devices.get(i).makeCurrent();
        cuMemsetD32Async(send.get(i), Float.floatToRawIntBits(i + 1f), count,
            devices.get(i).stream());
      }
    }

    void clearRecv(long count) {
      for (int i = 0; i < size(); i++) {
        devices.get(i).makeCurrent();
        cuMemsetD32Async(recv.get(i), 0, count, devices.get(i).stream());
      }
    }

    void synchronize() {
      for (CudaDevice d : devices) {
        d.makeCurrent();
        d.synchronize();
      }
    }

    /** Every rank's first and last received float must be the sum; throws otherwise. */
    void verify(String what, long count) {
      synchronize();
      float expected = size() * (size() + 1) / 2f;
      float[] v = new float[1];
      for (int i = 0; i < size(); i++) {
        devices.get(i).makeCurrent();
        for (long at : new long[] {0, count - 1}) {
          cuMemcpyDtoH(Pointer.to(v), recvBuffers.get(i).at(4 * at), 4);
          if (v[0] != expected) {
            throw new IllegalStateException(String.format(Locale.ROOT, "%s, %d floats: rank %d"
                + " received %s at float %d, expected %s", what, count, i, v[0], at, expected));
          }
        }
      }
    }
  }

  @Override
  public Integer call() throws Exception {
    if (gpus < 1) {
      throw new IllegalArgumentException("--gpus must be at least 1");
    }
    if (iters < 1 || sizes.isEmpty() || sizes.stream().anyMatch(s -> s < 1)) {
      throw new IllegalArgumentException("--iters and every --sizes value must be at least 1");
    }
    requireGpus();
    String ncclMissing = Nccl.available();
    if (ncclMissing != null) {
      throw new IllegalArgumentException("allreduce needs NCCL: " + ncclMissing);
    }
    MachineInfo machine = MachineInfo.detect();
    List<Row> rows = new ArrayList<>();
    List<CudaDevice> devices = new ArrayList<>();
    String ncclVersion = Nccl.version();
    List<Kernels> kernels = new ArrayList<>();
    try {
      for (int i = 0; i < gpus; i++) {
        devices.add(CudaDevice.open(i));
        kernels.add(new Kernels(devices.get(i).stream()));
      }
      Ranks ranks = Ranks.allocate(devices, Collections.max(sizes));
      try (Nccl nccl = Nccl.open(devices)) {
        List<Implementation> implementations = new ArrayList<>();
        implementations.add(new Implementation("nccl", ranks, nccl::allReduceSumAll));
        if (gpus > 1) {
          implementations.add(peer(devices, ranks, kernels));
        }
        for (Implementation impl : implementations) {
          boolean graphs = true;
          for (long count : sizes) {
            Row row = time(impl, impl.ranks(), count, graphs);
            graphs = row.graphNote() == null; // a failed capture may leave the comms unusable
            rows.add(row);
            System.err.printf(Locale.ROOT, "%-6s %8d floats  eager %8.1f us (wall %8.1f)"
                    + "  graph %8.1f us (wall %8.1f)%s%n", impl.name(), count, row.eagerMicros(),
                row.eagerWallMicros(), row.graphMicros(), row.graphWallMicros(),
                row.graphNote() == null ? "" : "  [" + row.graphNote() + "]");
          }
        }
      }
    } finally {
      for (int i = devices.size() - 1; i >= 0; i--) {
        devices.get(i).makeCurrent();
        kernels.get(i).close();
        devices.get(i).close();
      }
    }
    String deviceNames = deviceNames(devices);
    String name = "allreduce-" + gpus + "gpu";
    String md = markdown(rows, deviceNames, ncclVersion, machine);
    Files.createDirectories(out);
    Files.writeString(out.resolve(name + ".json"),
        JSON.writeValueAsString(json(rows, deviceNames, ncclVersion, machine)));
    Files.writeString(out.resolve(name + ".md"), md);
    System.out.print(md);
    return 0;
  }

  /**
   * Our peer-to-peer all-reduce (the tensor-parallel runner's, without its residual add and
   * norm): each rank reads the others' buffers over NVLink after a flag barrier. It sums
   * PeerAllReduce's own partial buffers, which serve as the send buffers here, as rows of
   * {@code --hidden} floats (a model's rows: one 1024-thread block per row).
   */
  private Implementation peer(List<CudaDevice> devices, Ranks nccl, List<Kernels> kernels) {
    long max = Collections.max(sizes);
    for (long count : sizes) {
      if (count % hidden != 0) {
        throw new IllegalArgumentException("--sizes must be multiples of --hidden (" + hidden
            + ") for the peer all-reduce, which reduces whole rows: " + count);
      }
    }
    List<PeerAllReduce> peers = PeerAllReduce.open(devices, max);
    Ranks ranks = Ranks.of(devices, peers.stream().map(p -> p.buffer(0)).toList(),
        nccl.recvBuffers());
    return new Implementation("peer", ranks, (send, recv, count) -> {
      for (int i = 0; i < devices.size(); i++) {
        devices.get(i).makeCurrent();
        peers.get(i).sum(kernels.get(i), 0, recv.get(i), hidden, (int) (count / hidden));
      }
    });
  }

  /** Every GPU 0..gpus-1 must be usable; one message naming the first that is not. */
  private void requireGpus() {
    for (int i = 0; i < gpus; i++) {
      CudaDevice.Availability a = CudaDevice.probe(i);
      if (!a.usable()) {
        throw new IllegalArgumentException("allreduce --gpus " + gpus + " needs " + gpus
            + " usable GPUs; GPU " + i + ": " + a.reason());
      }
    }
  }

  /**
   * Times {@code impl} at {@code count} floats: warm-up and a correctness check, then eager
   * batches of {@code iters}, then (if {@code graphs}) graphs of {@value #PER_GRAPH} replayed.
   */
  private Row time(Implementation impl, Ranks ranks, long count, boolean graphs) {
    ranks.fillSend(count);
    ranks.clearRecv(count);
    for (int i = 0; i < WARMUP; i++) {
      impl.enqueue().allReduce(ranks.send(), ranks.recv(), count);
    }
    ranks.verify(impl.name() + " eager", count);
    double[] eager = measure(ranks, () -> {
      for (int i = 0; i < iters; i++) {
        impl.enqueue().allReduce(ranks.send(), ranks.recv(), count);
      }
    }, iters);
    if (!graphs) {
      return new Row(impl.name(), count, eager[0], eager[1], Double.NaN, Double.NaN,
          "skipped: an earlier capture failed");
    }
    Captured captured;
    try {
      captured = capture(ranks, () -> {
        for (int i = 0; i < PER_GRAPH; i++) {
          impl.enqueue().allReduce(ranks.send(), ranks.recv(), count);
        }
      });
    } catch (RuntimeException e) {
      abandonCaptures(ranks);
      return new Row(impl.name(), count, eager[0], eager[1], Double.NaN, Double.NaN,
          "capture failed: " + e.getMessage());
    }
    try {
      int launches = (iters + PER_GRAPH - 1) / PER_GRAPH;
      ranks.clearRecv(count);
      double[] graph = measure(ranks, () -> {
        for (int l = 0; l < launches; l++) {
          captured.launch(ranks);
        }
      }, launches * PER_GRAPH);
      ranks.verify(impl.name() + " graph", count);
      return new Row(impl.name(), count, eager[0], eager[1], graph[0], graph[1], null);
    } finally {
      ranks.synchronize();
      captured.close(); // before the communicators go: NCCL holds resources per graph
    }
  }

  /**
   * Median microseconds per all-reduce over {@value #REPEATS} runs of {@code enqueue} (after
   * one untimed run): GPU time between events on rank 0's stream, and host wall time from the
   * first enqueue until every device has finished.
   */
  private static double[] measure(Ranks ranks, Runnable enqueue, int allReduces) {
    CudaDevice rank0 = ranks.devices().get(0);
    rank0.makeCurrent();
    CUevent start = new CUevent();
    CUevent end = new CUevent();
    cuEventCreate(start, 0);
    cuEventCreate(end, 0);
    double[] gpu = new double[REPEATS];
    double[] wall = new double[REPEATS];
    float[] ms = new float[1];
    try {
      for (int i = -1; i < REPEATS; i++) {
        ranks.synchronize();
        rank0.makeCurrent();
        long t0 = System.nanoTime();
        cuEventRecord(start, rank0.stream());
        enqueue.run();
        rank0.makeCurrent();
        cuEventRecord(end, rank0.stream());
        ranks.synchronize();
        long t1 = System.nanoTime();
        cuEventElapsedTime(ms, start, end);
        if (i >= 0) {
          gpu[i] = ms[0] * 1e3 / allReduces;
          wall[i] = (t1 - t0) / 1e3 / allReduces;
        }
      }
    } finally {
      rank0.makeCurrent();
      cuEventDestroy(start);
      cuEventDestroy(end);
    }
    return new double[] {median(gpu), median(wall)};
  }

  /** One instantiated graph per rank, launched on that rank's stream. */
  private record Captured(List<CUgraph> graphs, List<CUgraphExec> execs) implements
      AutoCloseable {

    void launch(Ranks ranks) {
      for (int i = 0; i < execs.size(); i++) {
        CudaDevice d = ranks.devices().get(i);
        d.makeCurrent();
        cuGraphLaunch(execs.get(i), d.stream());
      }
    }

    @Override
    public void close() {
      execs.forEach(e -> cuGraphExecDestroy(e));
      graphs.forEach(g -> cuGraphDestroy(g));
    }
  }

  /**
   * Captures what {@code enqueue} puts on every rank's stream into one graph per rank, as
   * nccl-tests does for one thread driving several GPUs: capture begins on every stream
   * (thread-local mode, so the other threads' CUDA calls are unaffected), the all-reduces are
   * enqueued (NCCL requires that all or none of a group's communicators be captured), then
   * each capture ends and its graph is instantiated.
   */
  private static Captured capture(Ranks ranks, Runnable enqueue) {
    ranks.synchronize();
    for (CudaDevice d : ranks.devices()) {
      d.makeCurrent();
      cuStreamBeginCapture(d.stream(), CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
    }
    enqueue.run();
    List<CUgraph> graphs = new ArrayList<>();
    List<CUgraphExec> execs = new ArrayList<>();
    try {
      for (CudaDevice d : ranks.devices()) {
        d.makeCurrent();
        CUgraph g = new CUgraph();
        cuStreamEndCapture(d.stream(), g);
        graphs.add(g);
      }
      for (int i = 0; i < graphs.size(); i++) {
        ranks.devices().get(i).makeCurrent();
        CUgraphExec e = new CUgraphExec();
        cuGraphInstantiate(e, graphs.get(i), 0);
        execs.add(e);
      }
    } catch (RuntimeException e) {
      new Captured(graphs, execs).close();
      throw e;
    }
    return new Captured(graphs, execs);
  }

  /** Ends whatever capture a failure left open, so the streams work again. */
  private static void abandonCaptures(Ranks ranks) {
    for (CudaDevice d : ranks.devices()) {
      try {
        d.makeCurrent();
        int[] status = new int[1];
        cuStreamIsCapturing(d.stream(), status);
        if (status[0] != CUstreamCaptureStatus.CU_STREAM_CAPTURE_STATUS_NONE) {
          CUgraph g = new CUgraph();
          cuStreamEndCapture(d.stream(), g);
          cuGraphDestroy(g);
        }
      } catch (RuntimeException e) {
        // an invalidated capture ends with an error; the stream is out of capture either way
      }
    }
  }

  private static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }

  /** Algorithm bandwidth, GB/s: the bytes of one rank's buffer per all-reduce time. */
  static double algbw(long count, double micros) {
    return 4.0 * count / micros / 1e3;
  }

  /** Bus bandwidth, GB/s: algbw x 2(n-1)/n, what each link carries in a ring (nccl-tests). */
  static double busbw(long count, double micros, int ranks) {
    return algbw(count, micros) * 2.0 * (ranks - 1) / ranks;
  }

  /** The NCCL_* variables set (NCCL_NVLS_ENABLE, NCCL_ALGO, ...): they change the results. */
  private static String ncclEnvironment() {
    return System.getenv().entrySet().stream().filter(e -> e.getKey().startsWith("NCCL_"))
        .map(e -> e.getKey() + "=" + e.getValue()).sorted().collect(Collectors.joining(" "));
  }

  private static String deviceNames(List<CudaDevice> devices) {
    List<String> names = new ArrayList<>();
    for (CudaDevice d : devices) {
      names.add(d.name());
    }
    return String.join(", ", names);
  }

  private ObjectNode json(List<Row> rows, String deviceNames, String ncclVersion,
      MachineInfo machine) {
    ObjectNode r = JSON.createObjectNode();
    r.put("gpus", gpus);
    r.put("devices", deviceNames);
    r.put("nccl", ncclVersion);
    r.put("iters", iters);
    r.put("per_graph", PER_GRAPH);
    r.put("machine", machine.describe());
    r.put("nccl_environment", ncclEnvironment());
    ArrayNode a = r.putArray("rows");
    for (Row row : rows) {
      ObjectNode o = a.addObject();
      o.put("implementation", row.implementation());
      o.put("floats", row.count());
      o.put("bytes", 4 * row.count());
      o.put("eager_us", row.eagerMicros());
      o.put("eager_wall_us", row.eagerWallMicros());
      o.put("eager_algbw_gb_per_s", algbw(row.count(), row.eagerMicros()));
      o.put("eager_busbw_gb_per_s", busbw(row.count(), row.eagerMicros(), gpus));
      if (row.graphNote() == null) {
        o.put("graph_us", row.graphMicros());
        o.put("graph_wall_us", row.graphWallMicros());
        o.put("graph_algbw_gb_per_s", algbw(row.count(), row.graphMicros()));
        o.put("graph_busbw_gb_per_s", busbw(row.count(), row.graphMicros(), gpus));
      } else {
        o.put("graph_note", row.graphNote());
      }
    }
    return r;
  }

  private String markdown(List<Row> rows, String deviceNames, String ncclVersion,
      MachineInfo machine) {
    StringBuilder md = new StringBuilder();
    md.append("# All-reduce, ").append(gpus).append(" x ").append(deviceNames)
        .append(String.format(Locale.ROOT, "%n%nfloat32 sum, one host thread driving every"
            + " GPU. NCCL %s through JNA (ncclCommInitAll, one ncclGroupStart/End per"
            + " all-reduce); peer: our kernel (PeerAllReduce, allreduce.cu), each rank reading"
            + " the others' rows of %d floats over NVLink after a flag barrier. Eager: %d"
            + " all-reduces enqueued back to back; graph: CUDA graphs of"
            + " %d all-reduces per rank, replayed. Microseconds per all-reduce: GPU time between"
            + " CUDA events on rank 0's stream (wall: host time until every GPU finished),"
            + " median of %d. algbw = bytes / time; busbw = algbw x 2(n-1)/n.%n%n", ncclVersion,
            hidden, iters, PER_GRAPH, REPEATS))
        .append("Machine: ").append(machine.describe()).append(". NCCL environment: ")
        .append(ncclEnvironment().isEmpty() ? "none set" : ncclEnvironment()).append(".\n\n")
        .append("| implementation | floats | bytes | eager us | wall us | algbw GB/s | busbw GB/s"
            + " | graph us | wall us | algbw GB/s | busbw GB/s |\n"
            + "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Row row : rows) {
      md.append(String.format(Locale.ROOT, "| %s | %d | %d | %.1f | %.1f | %.1f | %.1f |",
          row.implementation(), row.count(), 4 * row.count(), row.eagerMicros(),
          row.eagerWallMicros(), algbw(row.count(), row.eagerMicros()),
          busbw(row.count(), row.eagerMicros(), gpus)));
      if (row.graphNote() == null) {
        md.append(String.format(Locale.ROOT, " %.1f | %.1f | %.1f | %.1f |%n",
            row.graphMicros(), row.graphWallMicros(), algbw(row.count(), row.graphMicros()),
            busbw(row.count(), row.graphMicros(), gpus)));
      } else {
        md.append(" - | - | - | - |\n");
      }
    }
    List<String> notes = rows.stream().filter(r -> r.graphNote() != null)
        .map(r -> r.implementation() + ", " + r.count() + " floats: " + r.graphNote())
        .distinct().toList();
    if (!notes.isEmpty()) {
      md.append("\nNo graph timing:\n\n");
      notes.forEach(n -> md.append("- ").append(n).append('\n'));
    }
    return md.toString();
  }
}
