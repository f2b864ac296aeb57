package io.redress.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.redress.inference.model.KnownConfigs;
import io.redress.inference.runtime.cuda.TensorParallelRunner;
import io.redress.inference.model.ModelConfig;
import io.redress.inference.runtime.cuda.GemmTimer;
import io.redress.inference.runtime.cuda.Kernels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bench gemm}: the CUDA runner's prefill GEMMs (cuBLAS through JNA, bf16 in, fp32 out)
 * at a model's layer shapes and several token counts, in TFLOP/s. {@code tools/torch_gemm.py}
 * times torch.matmul on the same shapes; run both in one device call.
 */
@Command(name = "gemm", mixinStandardHelpOptions = true,
    description = "Prefill GEMM TFLOP/s at a model's layer shapes (needs a GPU).")
final class GemmBench implements Callable<Integer> {

  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT);

  @Option(names = "--config", defaultValue = "qwen2.5-7b") String config;
  @Option(names = "--tokens", split = ",", defaultValue = "512,2048,8192") List<Integer> tokens;
  @Option(names = "--iters", defaultValue = "20") int iters;
  @Option(names = "--out", defaultValue = "bench-results") Path out;
  @Option(names = "--algos", split = ",", description = "Also time these cublasGemmAlgo_t"
      + " values per shape (e.g. 99,100,...,115), reported beside the default.")
  List<Integer> algos = List.of();
  @Option(names = "--gemv", split = ",", description = "Instead: the decode GEMVs (ours, plain"
      + " and fused with the residual add) at these token counts, e.g. 1,2, in GB/s of weights"
      + " against the device copy bandwidth.")
  List<Integer> gemv = List.of();
  @Option(names = "--attention", split = ",", description = "Instead: the decode attention"
      + " kernels at these batch sizes (one new token per sequence, --context keys each), in"
      + " GB/s of K/V rows against the device copy bandwidth.")
  List<Integer> attention = List.of();
  @Option(names = "--context", defaultValue = "512", description = "Keys per sequence for"
      + " --attention (default: ${DEFAULT-VALUE}).")
  int context;
  @Option(names = "--tensor-parallel-size", defaultValue = "1", paramLabel = "N",
      description = "Time one rank's shapes of the model split over N GPUs (default:"
          + " ${DEFAULT-VALUE}).")
  int tensorParallelSize;

  @Override
  public Integer call() throws Exception {
    ModelConfig c = TensorParallelRunner.rankConfig(KnownConfigs.get(config),
        tensorParallelSize);
    if (tensorParallelSize > 1) {
      config = config + "-tp" + tensorParallelSize;
    }
    if (!gemv.isEmpty()) {
      return gemvTable(c);
    }
    if (!attention.isEmpty()) {
      return attentionTable(c);
    }
    int d = c.hiddenSize();
    Object[][] layers = {
        {"qkv", c.qSize() + 2 * c.kvSize(), d},
        {"o", d, c.qSize()},
        {"gate_up", 2 * c.intermediateSize(), d},
        {"down", d, c.intermediateSize()}};
    ObjectNode r = JSON.createObjectNode();
    r.put("config", config);
    ArrayNode rows = r.putArray("gemms");
    StringBuilder md = new StringBuilder();
    try (GemmTimer t = new GemmTimer(0)) {
      r.put("device", t.deviceName());
      // Clocks and cuBLAS's per-shape setup warm up first: without this the first shape
      // measured reads about half its steady speed.
      t.medianMillis(8192, d, 2 * c.intermediateSize(), iters);
      md.append("# Prefill GEMMs, ").append(config).append(", ").append(t.deviceName())
          .append("\n\ncuBLAS GemmEx through JNA as the CUDA runner calls it (bf16 x bf16, fp32"
              + " accumulate and output); per call, ").append(iters).append(" calls back to back"
              + " between CUDA events, median of 7.\n\n"
              + "| layer | tokens x out x in | ms | TFLOP/s |\n|---|---|---:|---:|\n");
      for (int m : tokens) {
        for (Object[] l : layers) {
          int outF = (int) l[1];
          int inF = (int) l[2];
          double ms = t.medianMillis(m, inF, outF, iters);
          double tflops = 2.0 * m * inF * outF / (ms / 1e3) / 1e12;
          ObjectNode row = rows.addObject();
          row.put("layer", (String) l[0]);
          row.put("tokens", m);
          row.put("out", outF);
          row.put("in", inF);
          row.put("ms", ms);
          row.put("tflops", tflops);
          md.append(String.format(Locale.ROOT, "| %s | %d x %d x %d | %.3f | %.0f |%n", l[0], m,
              outF, inF, ms, tflops));
          ArrayNode alt = row.putArray("algos");
          for (int algo : algos) {
            try {
              double a = t.medianMillis(m, inF, outF, iters, algo);
              alt.addObject().put("algo", algo).put("ms", a)
                  .put("tflops", 2.0 * m * inF * outF / (a / 1e3) / 1e12);
              System.err.printf(Locale.ROOT, "    algo %d: %.3f ms%n", algo, a);
            } catch (IllegalStateException e) {
              alt.addObject().put("algo", algo).put("error", e.getMessage());
            }
          }
          System.err.printf(Locale.ROOT, "%-8s %5d x %5d x %5d  %.3f ms  %.0f TFLOP/s%n", l[0],
              m, outF, inF, ms, tflops);
        }
      }
    }
    Files.createDirectories(out);
    Files.writeString(out.resolve("gemm-" + config + ".json"), JSON.writeValueAsString(r));
    Files.writeString(out.resolve("gemm-" + config + ".md"), md.toString());
    return 0;
  }

  /** The decode attention kernels: microseconds and K/V GB/s per batch size and kernel. */
  private int attentionTable(ModelConfig c) throws Exception {
    ObjectNode r = JSON.createObjectNode();
    r.put("config", config).put("context", context);
    ArrayNode rows = r.putArray("attention");
    StringBuilder md = new StringBuilder();
    try (GemmTimer t = new GemmTimer(0)) {
      double copy = t.copyBandwidthGbs();
      r.put("device", t.deviceName()).put("copy_gbs", copy);
      md.append("# Decode attention, ").append(config).append(", ").append(t.deviceName())
          .append(String.format(Locale.ROOT, "%n%nOne new token per sequence at %d keys, bf16"
              + " cache, block size 16, in a CUDA graph (K/V from HBM); device copy bandwidth"
              + " %.0f GB/s.%n%n", context, copy))
          .append("| kernel | batch | us | K/V GB/s | % copy |\n|---|---:|---:|---:|---:|\n");
      for (int b : attention) {
        for (GemmTimer.AttentionKernel k : GemmTimer.AttentionKernel.values()) {
          double us = t.attentionMicros(k, b, context, c.numHeads(), c.numKvHeads(),
              c.headDim(), iters);
          double bytes = 2.0 * 2 * b * context * c.kvSize();
          rows.addObject().put("kernel", k.name().toLowerCase(Locale.ROOT)).put("batch", b)
              .put("us", us).put("kv_gbs", bytes / us / 1e3);
          md.append(String.format(Locale.ROOT, "| %s | %d | %.1f | %.0f | %.0f |%n",
              k.name().toLowerCase(Locale.ROOT), b, us, bytes / us / 1e3,
              100 * bytes / us / 1e3 / copy));
          System.err.printf(Locale.ROOT, "%-10s batch %3d  %.1f us%n", k, b, us);
        }
      }
    }
    Files.createDirectories(out);
    Files.writeString(out.resolve("attention-" + config + ".json"), JSON.writeValueAsString(r));
    Files.writeString(out.resolve("attention-" + config + ".md"), md.toString());
    return 0;
  }

  /** The decode GEMVs: microseconds and weight GB/s per layer shape, plain and fused. */
  private int gemvTable(ModelConfig c) throws Exception {
    int d = c.hiddenSize();
    Object[][] layers = {
        {"qkv", c.qSize() + 2 * c.kvSize(), d},
        {"o", d, c.qSize()},
        {"gate_up", 2 * c.intermediateSize(), d},
        {"down", d, c.intermediateSize()},
        {"lm_head", TensorParallelRunner.rankVocabRows(c, tensorParallelSize), d}};
    ObjectNode r = JSON.createObjectNode();
    r.put("config", config);
    ArrayNode rows = r.putArray("gemvs");
    StringBuilder md = new StringBuilder();
    try (GemmTimer t = new GemmTimer(0)) {
      double copy = t.copyBandwidthGbs();
      r.put("device", t.deviceName());
      r.put("copy_bandwidth_gb_per_s", copy);
      t.gemvMicros(1, d, 2 * c.intermediateSize(), iters, false); // clocks up first
      md.append("# Decode GEMVs, ").append(config).append(", ").append(t.deviceName())
          .append(String.format(Locale.ROOT, "%n%nWeights cycle through at least 256 MB of"
              + " copies (each call reads HBM, not L2); %d calls back to back between CUDA"
              + " events (one CUDA graph), median of 7. Device copy bandwidth %.0f GB/s.%n%n", iters, copy))
          .append("| layer | tokens | out x in | gemv_bf16 us | GB/s | % copy | fused us |"
              + " GB/s | % copy |\n|---|---:|---|---:|---:|---:|---:|---:|---:|\n");
      for (int m : gemv) {
        if (m > Kernels.GEMV_MAX_TOKENS) {
          continue;
        }
        for (Object[] l : layers) {
          int outF = (int) l[1];
          int inF = (int) l[2];
          double bytes = 2.0 * outF * inF;
          double plain = t.gemvMicros(m, inF, outF, iters, false);
          double fused = m <= Kernels.FUSED_MAX_TOKENS ? t.gemvMicros(m, inF, outF, iters, true)
              : Double.NaN;
          ObjectNode row = rows.addObject();
          row.put("layer", (String) l[0]).put("tokens", m).put("out", outF).put("in", inF)
              .put("gemv_us", plain);
          if (!Double.isNaN(fused)) {
            row.put("fused_us", fused);
          }
          md.append(String.format(Locale.ROOT, "| %s | %d | %d x %d | %.1f | %.0f | %.0f | %.1f"
              + " | %.0f | %.0f |%n", l[0], m, outF, inF, plain, bytes / plain / 1e3,
              100 * bytes / plain / 1e3 / copy, fused, bytes / fused / 1e3,
              100 * bytes / fused / 1e3 / copy));
          System.err.printf(Locale.ROOT, "%-8s %d  %5d x %5d  gemv %.1f us  fused %.1f us%n",
              l[0], m, outF, inF, plain, fused);
        }
      }
      // The same decoder projections as GPTQ int4 (group 128): a quarter of the bytes.
      ArrayNode w4 = r.putArray("w4a16");
      md.append(String.format(Locale.ROOT, "%n## GPTQ int4 (W4A16 tensor-core kernel, group"
          + " 128)%n%nBytes: half a byte per weight plus 4 per group of a row (2, the scale"
          + " alone, in the zero-points-8 column).%n%n"))
          .append("| layer | tokens | out x in | w4a16 us | GB/s | % copy | vs gemv_bf16 |"
              + " fused w4 us | GB/s | % copy | fused w4, zero points 8, us | % copy |"
              + " gemm w4 us | % copy |\n"
              + "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
      for (int m : gemv) {
        if (m > Kernels.W4_MAX_TOKENS) {
          continue;
        }
        for (Object[] l : layers) {
          if (l[0].equals("lm_head")) {
            continue; // unquantized in GPTQ checkpoints
          }
          int outF = (int) l[1];
          int inF = (int) l[2];
          double bytes = outF * (double) inF / 2 + 4.0 * outF * (inF / 128);
          double us = t.w4Micros(m, inF, outF, iters, 128, false);
          double bf16 = m <= Kernels.GEMV_MAX_TOKENS ? t.gemvMicros(m, inF, outF, iters, false)
              : Double.NaN;
          // The fused decode kernels' GEMV (w4a16_fused.cu, its residual-add form: the one-token
          // kernel up to 8 tokens, the many-token one above)
          boolean fits = m <= Kernels.W4M_MAX_TOKENS && outF % 32 == 0;
          double fused = fits ? t.w4Micros(m, inF, outF, iters, 128, true) : Double.NaN;
          // The same over the scales alone, as a symmetric checkpoint's layers run in the engine
          double z8 = fits ? t.w4Micros(m, inF, outF, iters, 128, GemmTimer.W4Kernel.FUSED_Z8)
              : Double.NaN;
          double z8Bytes = outF * (double) inF / 2 + 2.0 * outF * (inF / 128);
          // The GEMM tiling (w4a16_gemm.cu: 8 strips a block share each staged activation tile)
          double gemm = t.w4Micros(m, inF, outF, iters, 128, GemmTimer.W4Kernel.GEMM);
          ObjectNode row = w4.addObject().put("layer", (String) l[0]).put("tokens", m)
              .put("out", outF).put("in", inF).put("w4a16_us", us).put("w4_gemm_us", gemm);
          if (!Double.isNaN(bf16)) {
            row.put("gemv_bf16_us", bf16);
          }
          if (!Double.isNaN(fused)) {
            row.put("w4_fused_us", fused).put("w4_fused_z8_us", z8);
          }
          md.append(String.format(Locale.ROOT, "| %s | %d | %d x %d | %.1f | %.0f | %.0f |"
              + " %s | %s | %s | %.1f | %.0f |%n", l[0], m, outF, inF, us, bytes / us / 1e3,
              100 * bytes / us / 1e3 / copy,
              Double.isNaN(bf16) ? "-" : String.format(Locale.ROOT, "%.2fx", bf16 / us),
              Double.isNaN(fused) ? "- | - | -" : String.format(Locale.ROOT, "%.1f | %.0f | %.0f",
                  fused, bytes / fused / 1e3, 100 * bytes / fused / 1e3 / copy),
              Double.isNaN(z8) ? "- | -" : String.format(Locale.ROOT, "%.1f | %.0f", z8,
                  100 * z8Bytes / z8 / 1e3 / copy),
              gemm, 100 * bytes / gemm / 1e3 / copy));
          System.err.printf(Locale.ROOT, "%-8s %d  %5d x %5d  w4a16 %.1f us  fused %.1f us"
              + "  fused z8 %.1f us  gemm %.1f us%n", l[0], m, outF, inF, us, fused, z8, gemm);
        }
      }
    }
    Files.createDirectories(out);
    Files.writeString(out.resolve("gemv-" + config + ".json"), JSON.writeValueAsString(r));
    Files.writeString(out.resolve("gemv-" + config + ".md"), md.toString());
    System.out.print(md);
    return 0;
  }
}
