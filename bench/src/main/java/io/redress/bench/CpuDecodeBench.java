package io.redress.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.redress.inference.engine.SamplingParams;
import io.redress.inference.model.ModelConfig;
import io.redress.inference.model.RandomCheckpoint;
import io.redress.inference.runtime.cpu.CpuGenerator;
import io.redress.inference.runtime.cpu.CpuModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Batch-1 generation speed of the CPU reference runner: prefill time and decode tokens/s,
 * next to the machine's measured memory copy bandwidth (decode streams every weight once per
 * token, so bandwidth is its ceiling).
 */
@Command(name = "cpu-decode", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Batch-1 prefill and decode speed of the CPU runner.")
final class CpuDecodeBench implements Callable<Integer> {

  private static final Logger LOG = LoggerFactory.getLogger(CpuDecodeBench.class);

  @Option(names = "--model", paramLabel = "DIR",
      description = "A model directory; default: random weights in the Qwen2.5-0.5B shape.")
  Path model;

  @Option(names = "--prompt-tokens", defaultValue = "64") int promptTokens;
  @Option(names = "--gen-tokens", defaultValue = "64") int genTokens;
  @Option(names = "--runs", defaultValue = "3", description = "Timed runs (median reported).")
  int runs;
  @Option(names = "--out", defaultValue = "bench-results", paramLabel = "DIR") Path out;

  @Override
  public Integer call() throws Exception {
    Path dir = model;
    String modelName;
    if (dir == null) {
      dir = Path.of("target", "bench-models", "qwen2.5-0.5b-random");
      if (!Files.exists(dir.resolve("model.safetensors"))) {
        LOG.info("writing random Qwen2.5-0.5B-shaped weights to {} (once)", dir);
        RandomCheckpoint.write(RandomCheckpoint.qwen25_05b(), dir, 42);
      }
      modelName = "Qwen2.5-0.5B config, random bf16 weights";
    } else {
      modelName = dir.toString();
    }
    long t0 = System.nanoTime();
    CpuModel cpu = CpuModel.load(dir);
    ModelConfig c = cpu.config();
    LOG.info("loaded in {} s", String.format("%.1f", (System.nanoTime() - t0) / 1e9));
    long weightBytes = weightBytesFp32(c);
    double copyGbs = copyBandwidthGbs();
    LOG.info("memory copy bandwidth {} GB/s (read + write)", String.format("%.1f", copyGbs));

    CpuGenerator gen = new CpuGenerator(cpu);
    int[] prompt = new Random(1).ints(promptTokens, 0, c.vocabSize()).toArray();
    SamplingParams params = SamplingParams.greedy(genTokens).withIgnoreEos(true);
    gen.generate(Arrays.copyOf(prompt, 8), params.withTemperature(0), id -> { }); // warm-up
    List<double[]> results = new ArrayList<>();
    for (int r = 0; r < runs; r++) {
      long[] stamps = new long[genTokens + 1];
      int[] n = {0};
      stamps[0] = System.nanoTime();
      gen.generate(prompt, params, id -> stamps[++n[0]] = System.nanoTime());
      double prefillS = (stamps[1] - stamps[0]) / 1e9;
      double decodeS = (stamps[genTokens] - stamps[1]) / 1e9;
      double tps = (genTokens - 1) / decodeS;
      results.add(new double[] {prefillS, tps});
      LOG.info("run {}: prefill {} ms, decode {} tokens/s", r + 1,
          String.format("%.0f", prefillS * 1000), String.format("%.2f", tps));
    }
    results.sort((a, b) -> Double.compare(a[1], b[1]));
    double[] median = results.get(results.size() / 2);
    double weightGbs = weightBytes * median[1] / 1e9;

    ObjectNode json = new ObjectMapper().createObjectNode();
    json.put("benchmark", "cpu-decode");
    json.put("model", modelName);
    json.put("threads", Runtime.getRuntime().availableProcessors());
    json.put("cpu", cpuName());
    json.put("java", System.getProperty("java.vm.name") + " " + Runtime.version());
    json.put("prompt_tokens", promptTokens);
    json.put("gen_tokens", genTokens);
    json.put("prefill_ms", median[0] * 1000);
    json.put("prefill_tokens_per_s", promptTokens / median[0]);
    json.put("decode_tokens_per_s", median[1]);
    json.put("weight_bytes_per_token", weightBytes);
    json.put("weight_stream_gb_per_s", weightGbs);
    json.put("copy_bandwidth_gb_per_s", copyGbs);
    Files.createDirectories(out);
    new ObjectMapper().writerWithDefaultPrettyPrinter()
        .writeValue(out.resolve("cpu-decode.json").toFile(), json);
    String md = String.format("""
        # CPU runner, batch 1

        | | |
        |---|---|
        | model | %s |
        | machine | %s, %d hardware threads, %s |
        | prompt / generated tokens | %d / %d |
        | prefill | %.0f ms (%.1f tokens/s) |
        | **decode** | **%.2f tokens/s** (median of %d runs) |
        | weights streamed per token | %.2f GB (fp32) |
        | achieved weight bandwidth | %.1f GB/s |
        | measured memory copy bandwidth | %.1f GB/s (read + write) |
        """, modelName, cpuName(), Runtime.getRuntime().availableProcessors(),
        json.get("java").asText(), promptTokens, genTokens, median[0] * 1000,
        promptTokens / median[0], median[1], runs, weightBytes / 1e9, weightGbs, copyGbs);
    Files.writeString(out.resolve("cpu-decode.md"), md);
    System.out.print(md);
    return 0;
  }

  /** Bytes the CPU runner reads per decode step: every matrix once, in fp32. */
  static long weightBytesFp32(ModelConfig c) {
    return 4 * c.decodeWeightElements();
  }

  /** Parallel copy of a 512 MB array, best of 5, counting bytes read plus written. */
  static double copyBandwidthGbs() {
    int n = 1 << 27;
    float[] src = new float[n];
    float[] dst = new float[n];
    Arrays.fill(src, 1f);
    int chunks = Runtime.getRuntime().availableProcessors() * 4;
    double best = 0;
    for (int r = 0; r < 5; r++) {
      long t = System.nanoTime();
      IntStream.range(0, chunks).parallel().forEach(k -> {
        int from = (int) ((long) n * k / chunks);
        int to = (int) ((long) n * (k + 1) / chunks);
        System.arraycopy(src, from, dst, from, to - from);
      });
      best = Math.max(best, 2.0 * 4 * n / ((System.nanoTime() - t) / 1e9) / 1e9);
    }
    return best;
  }

  private static String cpuName() {
    try {
      return Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
          .filter(l -> l.startsWith("model name")).findFirst()
          .map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("unknown CPU");
    } catch (Exception e) {
      return "unknown CPU";
    }
  }
}
