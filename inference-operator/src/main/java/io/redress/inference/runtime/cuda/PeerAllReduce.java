package io.redress.inference.runtime.cuda;

import static jcuda.driver.JCudaDriver.cuCtxEnablePeerAccess;
import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuDeviceCanAccessPeer;
import static jcuda.driver.JCudaDriver.cuMemsetD32;

import java.util.List;
import jcuda.CudaException;
import jcuda.driver.CUdeviceptr;

/**
 * One rank's side of the tensor-parallel all-reduce (allreduce.cu). Steps of several tokens:
 * the two buffers its row-parallel projections (attention output, MLP down) write their
 * partial sums into, which every rank reads directly over NVLink, and the signal slots and
 * counters of the barrier that orders those reads; the sum lands in the residual stream with
 * the next RMSNorm, one launch and no copies. One-token steps: slots in every rank's memory
 * that the projections push their partials into, and flags the next kernel waits on, so the
 * all-reduce needs no launch of its own ({@link #push}, {@link #sum}). Both run inside the
 * decode graphs like any kernel. The split LM head's gather uses the flags too.
 *
 * <p>NCCL would need a communicator per GPU, a copy out of and into the residual stream around
 * each call, and a separate norm; {@code bench allreduce} times both.
 */
public final class PeerAllReduce {

  /** Ranks one all-reduce can span (allreduce.cu's TP_MAX_RANKS). */
  static final int MAX_RANKS = 8;
  /** Blocks of one launch (allreduce.cu's TP_MAX_BLOCKS). */
  static final int MAX_BLOCKS = 1024;

  private final CudaDevice device;
  private final int rank;
  private final int ranks;
  private final DeviceBuffer[] parts = new DeviceBuffer[2];
  private final DeviceBuffer signals; // (MAX_BLOCKS, MAX_RANKS) u32, written by the peers
  private final DeviceBuffer counters; // (MAX_BLOCKS, MAX_RANKS) u32, this rank's own
  private final long[][] partAddresses = new long[2][MAX_RANKS];
  private final long[] signalAddresses = new long[MAX_RANKS];
  // One-token steps (allreduce.cu's TpPush/TpSum): the partials pushed into slots
  // (parity, rank, token, hidden) in every rank's memory, and flags the peers raise.
  private final int slotFloats; // one slot: FUSED_MAX_TOKENS rows
  private final DeviceBuffer slots;
  private final DeviceBuffer flags; // MAX_RANKS u64, flag q written by rank q
  private final long[] slotAddresses = new long[MAX_RANKS];
  private final long[] flagAddresses = new long[MAX_RANKS];
  private DeviceBuffer logitsPart; // this rank's share of the logits (split LM head), or null
  private final long[] logitsPartAddresses = new long[MAX_RANKS];

  /**
   * Allocates rank {@code rank}'s buffers for partials of up to {@code floats} floats, and
   * slots for one-token steps' partials of width {@code hidden}.
   */
  PeerAllReduce(CudaDevice device, int rank, int ranks, long floats, int hidden) {
    if (ranks < 2 || ranks > MAX_RANKS || rank < 0 || rank >= ranks) {
      throw new IllegalArgumentException("tensor parallel rank " + rank + " of " + ranks
          + ": 2 to " + MAX_RANKS + " ranks are supported");
    }
    this.device = device;
    this.rank = rank;
    this.ranks = ranks;
    device.makeCurrent();
    for (int i = 0; i < 2; i++) {
      parts[i] = device.alloc(4 * floats);
    }
    signals = device.alloc(4L * MAX_BLOCKS * MAX_RANKS);
    counters = device.alloc(4L * MAX_BLOCKS * MAX_RANKS);
    cuMemsetD32(signals.ptr(), 0, (long) MAX_BLOCKS * MAX_RANKS);
    cuMemsetD32(counters.ptr(), 0, (long) MAX_BLOCKS * MAX_RANKS);
    slotFloats = Kernels.FUSED_MAX_TOKENS * hidden;
    slots = device.alloc(4L * 2 * ranks * slotFloats);
    flags = device.alloc(8L * MAX_RANKS);
    cuMemsetD32(flags.ptr(), 0, 2L * MAX_RANKS);
    cuCtxSynchronize(); // the runner's non-blocking stream does not wait for these
  }

  /**
   * One all-reduce rank per device (in rank order) with partial buffers of {@code floats}
   * floats, connected (benchmarks; the runner makes its own).
   */
  public static List<PeerAllReduce> open(List<CudaDevice> devices, long floats) {
    List<PeerAllReduce> all = new java.util.ArrayList<>();
    for (int r = 0; r < devices.size(); r++) {
      all.add(new PeerAllReduce(devices.get(r), r, devices.size(), floats, 4));
    }
    connect(all);
    return all;
  }

  /**
   * Lets every rank's GPU read every other's memory and gives each rank the others' buffer
   * addresses. {@code all} is in rank order.
   */
  static void connect(List<PeerAllReduce> all) {
    for (PeerAllReduce a : all) {
      for (PeerAllReduce b : all) {
        if (a != b) {
          enablePeerAccess(a.device, b.device);
        }
      }
    }
    for (PeerAllReduce a : all) {
      for (PeerAllReduce b : all) {
        a.partAddresses[0][b.rank] = b.parts[0].address();
        a.partAddresses[1][b.rank] = b.parts[1].address();
        a.signalAddresses[b.rank] = b.signals.address();
        a.slotAddresses[b.rank] = b.slots.address();
        a.flagAddresses[b.rank] = b.flags.address();
        a.logitsPartAddresses[b.rank] = b.logitsPart == null ? 0 : b.logitsPart.address();
      }
    }
  }

  /** Lets {@code from}'s kernels read and write {@code to}'s memory. */
  private static void enablePeerAccess(CudaDevice from, CudaDevice to) {
    int[] can = new int[1];
    cuDeviceCanAccessPeer(can, from.cuDevice(), to.cuDevice());
    if (can[0] == 0) {
      throw new IllegalStateException("GPU " + from.ordinal() + " cannot read GPU "
          + to.ordinal() + "'s memory directly (no NVLink or PCIe peer-to-peer between them);"
          + " tensor parallelism needs it. Run one engine per GPU (data parallelism) instead.");
    }
    from.makeCurrent();
    try {
      cuCtxEnablePeerAccess(to.context(), 0);
    } catch (CudaException e) {
      if (!String.valueOf(e.getMessage()).contains("ALREADY_ENABLED")) {
        throw e;
      }
    }
  }

  /** Where this rank's projection {@code i} (0: attention output, 1: MLP down) writes. */
  CUdeviceptr part(int i) {
    return parts[i].ptr();
  }

  /**
   * Where a one-token step's producer of all-reduce k (parity {@code k % 2}) stores its
   * partial: slot [parity][this rank] in every rank's memory (allreduce.cu's TpPush).
   */
  long[] push(int parity) {
    long[] s = new long[MAX_RANKS + 1];
    for (int q = 0; q < ranks; q++) {
      s[q] = slotAddresses[q] + 4L * slotFloats * (parity * ranks + rank);
    }
    s[MAX_RANKS] = ranks;
    return s;
  }

  /**
   * What the consumer of a one-token step's all-reduce k sums and how it synchronises
   * (allreduce.cu's TpSum): this rank's slots of parity k % 2, block 0 storing x + sum to
   * {@code xOut} (may be null), flags epoch * 1024 + k + 1 with the step's epoch at
   * {@code epoch} (device, 8 bytes).
   */
  long[] sum(int k, CUdeviceptr xOut, CUdeviceptr epoch) {
    long[] s = new long[2 * MAX_RANKS + 5];
    int parity = k % 2;
    for (int q = 0; q < ranks; q++) {
      s[q] = slotAddresses[rank] + 4L * slotFloats * (parity * ranks + q);
      s[MAX_RANKS + 1 + q] = flagAddresses[q] + 8L * rank;
    }
    s[MAX_RANKS] = xOut == null ? 0 : CudaDevice.address(xOut);
    s[2 * MAX_RANKS + 1] = flagAddresses[rank];
    s[2 * MAX_RANKS + 2] = CudaDevice.address(epoch);
    s[2 * MAX_RANKS + 3] = (k & 0xFFFFFFFFL) | ((long) rank << 32);
    s[2 * MAX_RANKS + 4] = ranks;
    return s;
  }

  /** Registers this rank's share of the logits (before {@link #connect}). */
  void setLogitsPart(DeviceBuffer part) {
    logitsPart = part;
  }

  /**
   * What {@link Kernels#tpGatherLogits} reads (a TpSum): every rank's share of the logits,
   * once each peer has signalled step event k ({@link #sum}'s flags).
   */
  long[] gather(int k, CUdeviceptr epoch) {
    long[] s = sum(k, null, epoch);
    System.arraycopy(logitsPartAddresses, 0, s, 0, ranks);
    return s;
  }

  /** Partial buffer {@code i} (benchmarks fill it). */
  public DeviceBuffer buffer(int i) {
    return parts[i];
  }

  /**
   * A plain all-reduce on this rank's stream (benchmarks): {@code out} = the sum over the
   * ranks of partial buffer {@code part}, {@code rows} rows of {@code width} floats (a multiple
   * of 4). Every rank must call it with the same shape.
   */
  public void sum(Kernels kernels, int part, CUdeviceptr out, int width, int rows) {
    kernels.allreduceAddRmsnorm(out, partAddresses[part], signalAddresses, counters.ptr(), rank,
        ranks, false, null, null, null, width, 0f, rows);
  }

  /**
   * x[src] += every rank's partial {@code part} of that row, then out[r] = rmsnorm(x[src]) * w
   * ({@link Kernels#addRmsnorm}'s contract). Every rank must call it with the same rows.
   */
  void addRmsnorm(Kernels kernels, int part, CUdeviceptr x, CUdeviceptr rows, CUdeviceptr w,
      CUdeviceptr out, int hidden, float eps, int numRows) {
    kernels.allreduceAddRmsnorm(x, partAddresses[part], signalAddresses, counters.ptr(), rank,
        ranks, true, rows, w, out, hidden, eps, numRows);
  }
}
