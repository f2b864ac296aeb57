package io.redress.inference.runtime.cuda;

import com.sun.jna.Function;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

/**
 * NCCL's all-reduce through JNA, across the GPUs of this process driven from one host thread
 * (one communicator per {@link CudaDevice}, made by {@code ncclCommInitAll}), on our streams and
 * our device memory: the reference our tensor-parallel peer all-reduce is measured against.
 * Loads whichever libnccl.so.2 the machine has: the system's, or the one pip's
 * {@code nvidia-nccl-cu12} wheel puts under site-packages (what PyTorch uses), or the file
 * {@code -Dredress.nccl.library} names.
 *
 * <p>NCCL's CUDA runtime works on the devices' primary contexts, the ones {@link CudaDevice}
 * retains, so our {@code cuMemAlloc} pointers and streams are valid for it. NCCL switches the
 * calling thread's current device inside its calls (and mostly puts it back): call
 * {@link CudaDevice#makeCurrent()} before launching our own work after an NCCL call.
 *
 * <p>Not thread-safe: one thread drives all ranks. Captured CUDA graphs holding NCCL calls must
 * be destroyed before {@link #close()}, which otherwise waits for them (NCCL keeps per-graph
 * resources until the graph goes).
 */
public final class Nccl implements AutoCloseable {

  /** System property: the full path of the libnccl to load, instead of searching. */
  public static final String LIBRARY_PROPERTY = "redress.nccl.library";

  // ncclDataType_t and ncclRedOp_t, from NCCL's src/nccl.h.in (github.com/NVIDIA/nccl):
  // ncclFloat32 = 7, ncclBfloat16 = 9 (ncclDataType_t); ncclSum = 0 (ncclRedOp_t).
  /** ncclFloat32. */
  static final int FLOAT32 = 7;
  /** ncclBfloat16 (NCCL 2.10 and later). */
  static final int BFLOAT16 = 9;
  /** ncclSum. */
  static final int SUM = 0;

  /**
   * The NCCL entry points, bound by JNA direct mapping (a static native call costs a fraction
   * of an interface-mapped one, which matters beside a few-microsecond all-reduce). Signatures
   * from src/nccl.h.in: every function returns ncclResult_t (0 = ncclSuccess); ncclComm_t and
   * cudaStream_t are pointers, size_t is 64-bit.
   */
  static final class Lib {
    private Lib() {}

    /** {@code ncclResult_t ncclGetVersion(int* version)}. */
    static native int ncclGetVersion(int[] version);

    /** {@code ncclResult_t ncclCommInitAll(ncclComm_t* comm, int ndev, const int* devlist)}. */
    static native int ncclCommInitAll(Pointer comms, int ndev, int[] devlist);

    /**
     * {@code ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count,
     * ncclDataType_t datatype, ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream)}.
     */
    static native int ncclAllReduce(Pointer sendbuff, Pointer recvbuff, long count, int datatype,
        int op, Pointer comm, Pointer stream);

    /** {@code ncclResult_t ncclGroupStart()}. */
    static native int ncclGroupStart();

    /** {@code ncclResult_t ncclGroupEnd()}. */
    static native int ncclGroupEnd();

    /** {@code ncclResult_t ncclCommDestroy(ncclComm_t comm)}. */
    static native int ncclCommDestroy(Pointer comm);

    /** {@code const char* ncclGetErrorString(ncclResult_t result)}. */
    static native String ncclGetErrorString(int result);
  }

  /**
   * What binding libnccl gave.
   *
   * @param library the file or name that loaded, null if none did
   * @param version NCCL_VERSION_CODE of the loaded library (0 if none)
   * @param failure why none loaded (what was tried, and what to do), null if one did
   */
  record Binding(String library, int version, String failure) {}

  /** Bound once per process, on first use: JNA can register the native methods only once. */
  private static final class Holder {
    static final Binding BINDING = bind(candidates());
  }

  private static NativeLibrary bound;

  private final List<CudaDevice> devices;
  private final Pointer[] comms;
  private final Pointer[] streams;
  private boolean closed;

  private Nccl(List<CudaDevice> devices, Pointer[] comms) {
    this.devices = List.copyOf(devices);
    this.comms = comms;
    this.streams = new Pointer[devices.size()];
    for (int r = 0; r < streams.length; r++) {
      streams[r] = new Pointer(CudaDevice.address(devices.get(r).stream()));
    }
  }

  /**
   * Null when libnccl loads here; otherwise why not (what was tried and what to do). Never
   * throws, needs no GPU: for a clear message before opening any device.
   */
  public static String available() {
    return Holder.BINDING.failure();
  }

  /** The loaded NCCL's version, "2.21.5 (libnccl.so.2)"; throws when none loads. */
  public static String version() {
    Binding b = require();
    return versionString(b.version()) + " (" + b.library() + ")";
  }

  /**
   * One communicator per device, rank i on {@code devices.get(i)}, through ncclCommInitAll
   * (single process, several GPUs). The devices must be distinct GPUs.
   */
  public static Nccl open(List<CudaDevice> devices) {
    require();
    if (devices.isEmpty()) {
      throw new IllegalArgumentException("NCCL needs at least one device");
    }
    int n = devices.size();
    int[] ordinals = new int[n];
    for (int r = 0; r < n; r++) {
      ordinals[r] = devices.get(r).ordinal();
    }
    Memory comms = new Memory((long) n * Native.POINTER_SIZE);
    comms.clear();
    // ncclCommInitAll sets each rank's device in turn; leave the caller's context current.
    CUcontext current = new CUcontext();
    JCudaDriver.cuCtxGetCurrent(current);
    try {
      check(Lib.ncclCommInitAll(comms, n, ordinals), "ncclCommInitAll(" + n + " GPUs "
          + Arrays.toString(ordinals) + ")");
    } finally {
      JCudaDriver.cuCtxSetCurrent(current);
    }
    Pointer[] handles = new Pointer[n];
    for (int r = 0; r < n; r++) {
      handles[r] = comms.getPointer((long) r * Native.POINTER_SIZE);
    }
    return new Nccl(devices, handles);
  }

  /**
   * The float32 sum all-reduce of {@code count} floats on every rank, rank i from
   * {@code send.get(i)} into {@code recv.get(i)} on its device's stream: one NCCL group, so one
   * thread can drive all ranks (also while the streams are being captured into CUDA graphs).
   */
  public void allReduceSumAll(List<CUdeviceptr> send, List<CUdeviceptr> recv, long count) {
    if (send.size() != comms.length || recv.size() != comms.length) {
      throw new IllegalArgumentException("need one send and one recv buffer per rank ("
          + comms.length + "), got " + send.size() + " and " + recv.size());
    }
    checkCount(count);
    group(() -> {
      for (int r = 0; r < comms.length; r++) {
        enqueue(r, send.get(r), recv.get(r), count, streams[r]);
      }
    });
  }

  /**
   * Runs {@code calls} between ncclGroupStart and ncclGroupEnd: NCCL launches the grouped
   * operations of all ranks together at the end (it requires this when one thread drives
   * several communicators). Check arguments before: after an NCCL call fails, ncclGroupEnd
   * drops the group's operations, but if {@code calls} throws for another reason, the ranks
   * enqueued so far are launched without the others and wait for them on the GPU.
   */
  private void group(Runnable calls) {
    check(Lib.ncclGroupStart(), "ncclGroupStart");
    RuntimeException failed = null;
    try {
      calls.run();
    } catch (RuntimeException e) {
      failed = e;
    } finally {
      // Always balance the group, even after a failed call, rather than leave this thread
      // inside an NCCL group; the first error is the one reported.
      int status = Lib.ncclGroupEnd();
      if (failed == null) {
        check(status, "ncclGroupEnd");
      }
    }
    if (failed != null) {
      throw failed;
    }
  }

  private static void checkCount(long count) {
    if (count < 0) {
      throw new IllegalArgumentException("count " + count + " < 0");
    }
  }

  private void enqueue(int rank, CUdeviceptr send, CUdeviceptr recv, long count,
      Pointer stream) {
    int status = Lib.ncclAllReduce(new Pointer(CudaDevice.address(send)),
        new Pointer(CudaDevice.address(recv)), count, FLOAT32, SUM, comms[rank], stream);
    if (status != 0) { // (the message is built only on failure: this is the hot path)
      throw failure(status, "ncclAllReduce(rank " + rank + ", " + count + " floats)");
    }
  }

  /** Destroys the communicators (after their work is done); close before the devices. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (CudaDevice d : devices) {
      d.makeCurrent();
      d.synchronize();
    }
    CUcontext current = new CUcontext();
    JCudaDriver.cuCtxGetCurrent(current);
    IllegalStateException failed = null;
    try {
      // One at a time, as NCCL's single-thread example does: each destroy only finalizes its
      // rank, and the last one of the process frees what the clique shares.
      for (int r = 0; r < comms.length; r++) {
        int status = Lib.ncclCommDestroy(comms[r]);
        if (status != 0 && failed == null) {
          failed = failure(status, "ncclCommDestroy(rank " + r + ")");
        }
      }
    } finally {
      JCudaDriver.cuCtxSetCurrent(current);
    }
    if (failed != null) {
      throw failed;
    }
  }

  // ---- loading ----

  /**
   * Where to look for libnccl, in order: the system property alone when set; else the JNA name
   * {@code nccl} (libnccl.so on the library path), {@code libnccl.so.2} (the dynamic loader's
   * search: LD_LIBRARY_PATH, ldconfig), then pip wheels' {@code nvidia/nccl/lib/libnccl.so.2}
   * under the standard Python package directories.
   */
  static List<String> candidates() {
    String explicit = System.getProperty(LIBRARY_PROPERTY);
    if (explicit != null && !explicit.isBlank()) {
      return List.of(explicit.trim());
    }
    List<String> names = new ArrayList<>(List.of("nccl", "libnccl.so.2"));
    for (Path p : pipWheelLibraries()) {
      names.add(p.toString());
    }
    return names;
  }

  /**
   * {@code nvidia/nccl/lib/libnccl.so.2} (the nvidia-nccl-cu12/-cu13 wheels) under
   * /usr/lib/python3*, /usr/local/lib/python3* and ~/.local/lib/python3* (site-packages or
   * dist-packages), after the active virtualenv's and conda environment's ($VIRTUAL_ENV,
   * $CONDA_PREFIX); newest Python first. Only these few directories are listed, nothing is
   * walked.
   */
  static List<Path> pipWheelLibraries() {
    List<Path> roots = new ArrayList<>(List.of(Path.of("/usr/lib"), Path.of("/usr/local/lib"),
        Path.of(System.getProperty("user.home", "/nonexistent"), ".local", "lib")));
    for (String env : new String[] {"CONDA_PREFIX", "VIRTUAL_ENV"}) {
      String prefix = System.getenv(env);
      if (prefix != null && !prefix.isBlank()) {
        roots.add(0, Path.of(prefix, "lib"));
      }
    }
    List<Path> found = new ArrayList<>();
    for (Path root : roots) {
      for (Path python : pythonDirs(root)) {
        for (String packages : new String[] {"site-packages", "dist-packages"}) {
          Path lib = python.resolve(packages).resolve("nvidia/nccl/lib/libnccl.so.2");
          if (Files.isRegularFile(lib) && !found.contains(lib)) {
            found.add(lib);
          }
        }
      }
    }
    return found;
  }

  /** {@code root/python3*} directories, newest name first; none if root is unreadable. */
  private static List<Path> pythonDirs(Path root) {
    List<Path> dirs = new ArrayList<>();
    if (!Files.isDirectory(root)) {
      return dirs;
    }
    try (DirectoryStream<Path> s = Files.newDirectoryStream(root, "python3*")) {
      for (Path p : s) {
        if (Files.isDirectory(p)) {
          dirs.add(p);
        }
      }
    } catch (IOException | RuntimeException e) {
      return dirs; // unreadable: nothing to find there
    }
    dirs.sort(Comparator.comparing((Path p) -> pythonVersion(p.getFileName().toString()))
        .reversed());
    return dirs;
  }

  /** "python3.11" to 11, so python3.11 sorts after python3.9; "python3" to -1. */
  private static int pythonVersion(String name) {
    int dot = name.indexOf('.');
    try {
      return dot < 0 ? -1 : Integer.parseInt(name.substring(dot + 1));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * Loads the first of {@code candidates} that is a working libnccl and binds {@link Lib} to
   * it; never throws. The binding happens at most once per process.
   */
  static synchronized Binding bind(List<String> candidates) {
    List<String> tried = new ArrayList<>();
    for (String name : candidates) {
      NativeLibrary lib;
      try {
        lib = NativeLibrary.getInstance(name);
      } catch (LinkageError | RuntimeException e) {
        tried.add(name + " (" + loadError(e.getMessage()) + ")");
        continue;
      }
      try {
        if (bound == null) {
          Native.register(Lib.class, lib);
          bound = lib;
        }
        int[] version = new int[1];
        int status = Lib.ncclGetVersion(version);
        if (status != 0) {
          tried.add(name + " (ncclGetVersion returned " + status + ")");
          continue;
        }
        return new Binding(lib.getFile() != null ? lib.getFile().toString() : name, version[0],
            null);
      } catch (LinkageError | RuntimeException e) {
        tried.add(name + " (not a usable libnccl: " + loadError(e.getMessage()) + ")");
      }
    }
    return new Binding(null, 0, "NCCL (libnccl.so.2) not found; tried " + String.join(", ",
        tried) + ". Install NCCL 2 (the libnccl2 package, or pip install nvidia-nccl-cu12), or"
        + " set -D" + LIBRARY_PROPERTY + "=/full/path/to/libnccl.so.2");
  }

  private static Binding require() {
    Binding b = Holder.BINDING;
    if (b.failure() != null) {
      throw new IllegalStateException(b.failure());
    }
    return b;
  }

  /** NCCL_VERSION_CODE as text: X*10000+Y*100+Z from 2.9 on, X*1000+Y*100+Z before. */
  static String versionString(int code) {
    if (code >= 10000) {
      return code / 10000 + "." + code % 10000 / 100 + "." + code % 100;
    }
    return code / 1000 + "." + code % 1000 / 100 + "." + code % 100;
  }

  /**
   * The telling line of a load error: JNA's message starts "Unable to load library 'x':" and
   * the dynamic loader's own reason follows ("cannot open shared object file", "invalid ELF
   * header"), then the long list of class-path resources it also searched.
   */
  private static String loadError(String message) {
    List<String> lines = String.valueOf(message).strip().lines().map(String::strip)
        .filter(l -> !l.isEmpty()).toList();
    String s = lines.stream()
        .filter(l -> !l.startsWith("Unable to load library") && !l.startsWith("Native library ("))
        .findFirst().orElse(lines.isEmpty() ? "" : lines.get(0));
    return s.length() > 200 ? s.substring(0, 200) + "..." : s;
  }

  private static void check(int status, String what) {
    if (status != 0) {
      throw failure(status, what);
    }
  }

  /** An NCCL error: the code, NCCL's name for it and, where the library has it, its detail. */
  private static IllegalStateException failure(int status, String what) {
    String message = what + " failed: NCCL error " + status + " (" + Lib.ncclGetErrorString(status)
        + ")";
    String detail = lastError();
    return new IllegalStateException(detail == null || detail.isBlank() ? message
        : message + ": " + detail.strip());
  }

  /** ncclGetLastError (NCCL 2.13 and later; its comm argument is unused), else null. */
  private static String lastError() {
    try {
      Function f = bound.getFunction("ncclGetLastError");
      return f.invokeString(new Object[] {null}, false);
    } catch (LinkageError | RuntimeException e) {
      return null;
    }
  }
}
