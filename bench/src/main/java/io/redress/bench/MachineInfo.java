package io.redress.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The machine a benchmark ran on, as written into its report.
 *
 * @param cpu CPU model name from /proc/cpuinfo
 * @param cores hardware threads the JVM sees
 * @param java JVM name and version
 * @param os operating system and architecture
 * @param maxHeapBytes the JVM's maximum heap
 * @param gpus GPU names from nvidia-smi (one per device), empty when there is none or no
 *     nvidia-smi
 */
record MachineInfo(String cpu, int cores, String java, String os, long maxHeapBytes,
    List<String> gpus) {

  /** Looks at this machine (runs nvidia-smi for at most a few seconds if it is installed). */
  static MachineInfo detect() {
    return new MachineInfo(cpuName(), Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.vm.name") + " " + Runtime.version(),
        System.getProperty("os.name") + " " + System.getProperty("os.arch"),
        Runtime.getRuntime().maxMemory(), gpuNames());
  }

  /** One line for a Markdown table. */
  String describe() {
    String s = String.format("%s, %d hardware threads, %s, max heap %.1f GiB", cpu, cores, java,
        maxHeapBytes / (double) (1L << 30));
    return gpus.isEmpty() ? s : s + ", GPU: " + String.join(", ", gpus);
  }

  static String cpuName() {
    try {
      return Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
          .filter(l -> l.startsWith("model name")).findFirst()
          .map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("unknown CPU");
    } catch (IOException | RuntimeException e) {
      return "unknown CPU";
    }
  }

  private static List<String> gpuNames() {
    return nvidiaSmi("--query-gpu=name,memory.total", "--format=csv,noheader").lines()
        .map(String::trim).filter(l -> !l.isEmpty()).toList();
  }

  /**
   * nvidia-smi's output for these arguments, waiting at most a few seconds; empty where it is
   * not installed (no NVIDIA GPU to report), fails or hangs.
   */
  static String nvidiaSmi(String... args) {
    List<String> command = new ArrayList<>(List.of("nvidia-smi"));
    command.addAll(List.of(args));
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      if (!p.waitFor(5, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return "";
      }
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      return p.exitValue() == 0 ? out : "";
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }
}
