package io.redress.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * One GPU's clocks and throttling as nvidia-smi reports them, sampled right after a timed run:
 * a GPU that was throttled (thermal slowdown, power cap) or not at its top SM clock ran slower
 * for reasons of its own, and its figures must not be compared with another run's. (An H100 at
 * 87 degrees with software thermal slowdown once read 169-239 tokens/s for a build that reads
 * 239 on a cool one.)
 *
 * @param index the GPU's nvidia-smi index
 * @param smMhz its SM clock now
 * @param maxSmMhz its highest SM clock
 * @param temperatureC its temperature
 * @param throttleReasons nvidia-smi's active clock event reasons, a bit mask
 */
record GpuClocks(int index, int smMhz, int maxSmMhz, int temperatureC, long throttleReasons) {

  /** The query's fields, in the order {@link #parse} reads them. */
  static final String QUERY = "index,clocks.sm,clocks.max.sm,temperature.gpu,"
      + "clocks_throttle_reasons.active";

  /** Reasons that do not slow a running kernel: the GPU idle (bit 0), nothing else. */
  private static final long BENIGN = 0x1L;

  /** A reason's bit and name (nvidia-smi's clocks_event_reasons). */
  private record Reason(long bit, String name) {}

  /** The reasons that slow kernels, by bit. */
  private static final List<Reason> REASONS = List.of(
      new Reason(0x2, "applications clocks setting"), new Reason(0x4, "software power cap"),
      new Reason(0x8, "hardware slowdown"), new Reason(0x10, "sync boost"),
      new Reason(0x20, "software thermal slowdown"), new Reason(0x40, "hardware thermal slowdown"),
      new Reason(0x80, "hardware power brake"), new Reason(0x100, "display clocks setting"));

  /**
   * Every GPU's line, read now; empty where there is no nvidia-smi or it fails (a CPU machine,
   * a container without it): the report then says nothing of clocks.
   */
  static List<GpuClocks> sample() {
    return parse(MachineInfo.nvidiaSmi("--query-gpu=" + QUERY, "--format=csv,noheader,nounits"));
  }

  /**
   * nvidia-smi's CSV lines ({@link #QUERY}, no header, no units) as records; a line with a
   * field it could not read ("[N/A]", "[Not Supported]") is left out.
   */
  static List<GpuClocks> parse(String csv) {
    List<GpuClocks> out = new ArrayList<>();
    for (String line : csv.split("\\R")) {
      String[] f = line.split(",");
      if (f.length != 5) {
        continue;
      }
      try {
        String mask = f[4].trim();
        out.add(new GpuClocks(Integer.parseInt(f[0].trim()), Integer.parseInt(f[1].trim()),
            Integer.parseInt(f[2].trim()), Integer.parseInt(f[3].trim()),
            Long.parseUnsignedLong(mask.startsWith("0x") ? mask.substring(2) : mask, 16)));
      } catch (NumberFormatException e) {
        // a field nvidia-smi could not read
      }
    }
    return out;
  }

  /**
   * Whether the GPU was slowed: a reason that slows kernels is active, or its SM clock is below
   * the top one while it is not idle (an idle GPU lowers its clock; it keeps the top one for a
   * while after a run, which is when this is sampled).
   */
  boolean slowed() {
    return (throttleReasons & ~BENIGN) != 0
        || smMhz < maxSmMhz && (throttleReasons & BENIGN) == 0;
  }

  /** The active reasons that slow kernels, by name ("none" if there are none). */
  String reasons() {
    List<String> names = new ArrayList<>();
    long unknown = throttleReasons & ~BENIGN;
    for (Reason r : REASONS) {
      if ((throttleReasons & r.bit()) != 0) {
        names.add(r.name());
      }
      unknown &= ~r.bit();
    }
    if (unknown != 0) {
      names.add(String.format("0x%x", unknown));
    }
    return names.isEmpty() ? "none" : String.join(", ", names);
  }

  /** One clause for a report: "GPU 0 at 1980 of 1980 MHz, 44 C, throttling: none". */
  String describe() {
    return String.format("GPU %d at %d of %d MHz, %d C, throttling: %s", index, smMhz,
        maxSmMhz, temperatureC, reasons());
  }
}
