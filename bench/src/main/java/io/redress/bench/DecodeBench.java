package io.redress.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.redress.inference.engine.Engine;
import io.redress.inference.engine.EngineConfig;
import io.redress.inference.engine.GenerationRequest;
import io.redress.inference.engine.GenerationResult;
import io.redress.inference.engine.SamplingParams;
import io.redress.inference.model.KnownConfigs;
import io.redress.inference.model.ModelConfig;
import io.redress.inference.cli.GpuOptions;
import io.redress.inference.runtime.KvCacheDtype;
import io.redress.inference.runtime.ModelRunner;
import io.redress.inference.runtime.cuda.CudaModelRunner;
import io.redress.inference.runtime.cuda.TensorParallelRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Generation speed at fixed lengths (EOS ignored) for several batch sizes, on a model
 * directory or on a published architecture with random weights drawn on the GPU. Batch 1 is
 * compared with its roofline: every weight byte read once per token at the measured device
 * copy bandwidth.
 */
@Command(name = "decode", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Batch-1..N generation speed at fixed prompt/output lengths.")
final class DecodeBench implements Callable<Integer> {

  private static final Logger LOG = LoggerFactory.getLogger(DecodeBench.class);

  @Option(names = "--config", paramLabel = "NAME",
      description = "Random weights on the GPU in a published shape: qwen2.5-0.5b, -1.5b, -7b,"
          + " -14b.")
  String configName;

  @Option(names = "--model", paramLabel = "DIR", description = "A model directory instead.")
  Path model;

  @Option(names = "--quantization", defaultValue = "none", paramLabel = "none|gptq",
      description = "With --config: gptq draws the decoder's projections as GPTQ int4"
          + " (W4A16 kernels) instead of bf16 (default: ${DEFAULT-VALUE}).")
  String quantization;
  @Option(names = "--group-size", defaultValue = "128",
      description = "GPTQ group size of --quantization gptq (default: ${DEFAULT-VALUE}).")
  int groupSize;

  @Option(names = "--device", defaultValue = "auto") String device;
  @Option(names = "--batch", defaultValue = "1", split = ",",
      description = "Batch sizes, e.g. 1,16,64 (default: ${DEFAULT-VALUE}).")
  int[] batches;
  @Option(names = "--prompt-len", defaultValue = "128") int promptLen;
  @Option(names = "--output-len", defaultValue = "256") int outputLen;
  @Mixin io.redress.inference.cli.SchedulerOptions sched =
      new io.redress.inference.cli.SchedulerOptions();
  @Option(names = "--kv-cache-fraction", defaultValue = "0.9") double kvFraction;
  @Option(names = "--gpus", defaultValue = "1", paramLabel = "N",
      description = "Data parallel: N engines (each on --tensor-parallel-size GPUs), the"
          + " batch's requests spread over them round-robin (default: ${DEFAULT-VALUE}).")
  int gpus;
  @Mixin GpuOptions gpu = new GpuOptions();
  @Option(names = "--tokenizer", paramLabel = "PATH",
      description = "Tokenizer for --config models (needed by --json-schema).")
  Path tokenizerPath;
  @Option(names = "--json-schema", paramLabel = "FILE",
      description = "Guide every request by this schema (output-len is then the cap).")
  Path jsonSchema;
  @Option(names = "--compare-unguided",
      description = "With --json-schema: after each batch, the same prompts again unguided,"
          + " each request running to its guided output length (EOS ignored), so both runs"
          + " do the same work and their ratio is the cost of guidance alone (an untimed guided"
          + " run first warms both: CUDA graphs, JIT).")
  boolean compareUnguided;
  @Option(names = "--warm-up-tokens", defaultValue = "8", paramLabel = "N",
      description = "Before each batch size's timed run, an untimed run of the same batch and"
          + " prompt length (other prompts: no prefix-cache hits) generating N tokens, so the"
          + " timed run meets no first-use costs (cuBLAS shape heuristics, graphs captured"
          + " lazily, JIT at this size), as tools/hf_baseline.py warms HF; 0: none"
          + " (default: ${DEFAULT-VALUE}).")
  int warmUpTokens;
  @Option(names = "--out", defaultValue = "bench-results") Path out;
  @Option(names = "--name", defaultValue = "decode") String name;
  /** Opens the engines of a {@code --model} run (tests put a fake engine here). */
  Function<EngineConfig, Engine> engineFactory = Engine::open;

  @Override
  public Integer call() throws Exception {
    if ((configName == null) == (model == null)) {
      throw new IllegalArgumentException("give exactly one of --config NAME or --model DIR");
    }
    if (!quantization.equals("none") && !quantization.equals("gptq")) {
      throw new IllegalArgumentException("--quantization takes none or gptq, not '"
          + quantization + "'");
    }
    boolean gptq = quantization.equals("gptq");
    if (gptq && configName == null) {
      throw new IllegalArgumentException("--quantization gptq draws random GPTQ weights for"
          + " --config; a GPTQ model directory given by --model is read as it is");
    }
    int maxLen = promptLen + outputLen + 16;
    Path dir = model != null ? model : Path.of(configName);
    EngineConfig.Builder builder = sched.applyTo(gpu.applyTo(EngineConfig.builder(dir)))
        .device(EngineConfig.Device.parse(device))
        .kvCacheFraction(kvFraction).maxModelLen(maxLen).enablePrefixCaching(false);
    EngineConfig config = builder.build();
    if (gpus < 1) {
      throw new IllegalArgumentException("--gpus must be at least 1");
    }
    ModelConfig mc;
    List<Engine> engines = new ArrayList<>();
    double copyGbs = 0;
    int scaleBytes = 4; // a row's group: {scale, zero}, or the scale alone (scales without zeros)
    long t0 = System.nanoTime();
    int tp = config.tensorParallelSize();
    if (configName != null) {
      mc = KnownConfigs.get(configName);
      int needed = gpus * tp;
      var probe = io.redress.inference.runtime.cuda.CudaDevice.probe(needed - 1);
      if (!probe.usable()) {
        throw new IllegalArgumentException("--config needs " + (needed > 1 ? needed + " GPUs"
            : "a GPU") + " (random weights are drawn there): " + probe.reason()
            + "; use --model DIR on the CPU");
      }
      for (int g = 0; g < gpus; g++) {
        CudaModelRunner.Options options = new CudaModelRunner.Options(g * tp,
            config.blockSize(), config.numBlocks(), kvFraction, config.maxNumSeqs(),
            Math.max(config.maxNumBatchedTokens(), config.maxNumSeqs()), maxLen,
            config.kvCacheDtype());
        int group = gptq ? groupSize : 0;
        ModelRunner runner;
        CudaModelRunner first;
        if (tp > 1) {
          TensorParallelRunner split = TensorParallelRunner.random(mc, options, 42, group, tp);
          runner = split;
          first = split.rank(0);
        } else {
          first = CudaModelRunner.random(mc, options, 42, group);
          runner = first;
        }
        if (g == 0) {
          copyGbs = first.cudaDevice().copyBandwidthGbs(1L << 30);
          scaleBytes = first.usesScalesZ8() ? 2 : 4;
        }
        engines.add(Engine.open(config.toBuilder().gpu(g * tp).build(), runner,
            tokenizerPath == null ? null
                : io.redress.inference.model.Tokenizer.load(tokenizerPath)));
      }
    } else {
      mc = ModelConfig.load(model);
      for (int g = 0; g < gpus; g++) {
        engines.add(engineFactory.apply(config.toBuilder().gpu(g * tp).build()));
      }
    }
    Engine engine = engines.get(0);
    LOG.info("{} engine(s) on {} ready in {} s", gpus, engine.device(),
        String.format("%.1f", (System.nanoTime() - t0) / 1e9));
    ObjectMapper json = new ObjectMapper();
    ObjectNode root = json.createObjectNode();
    root.put("benchmark", "decode");
    root.put("model", configName != null ? configName + (gptq ? " (random GPTQ int4 weights,"
        + " group " + groupSize + ")" : " (random bf16 weights)") : model.toString());
    root.put("device", engine.device());
    root.put("gpus", gpus);
    root.put("tensor_parallel_size", tp);
    root.put("prompt_len", promptLen);
    // Guided against unguided: each batch's guided run is then warmed by a whole one instead.
    boolean pairs = compareUnguided && jsonSchema != null;
    root.put("warm_up_tokens", pairs ? outputLen : warmUpTokens);
    root.put("output_len", outputLen);
    root.put("guided", jsonSchema != null);
    root.put("kv_cache_dtype", config.kvCacheDtype().flag());
    root.put("kv_cache_tokens", (long) engine.stats().kvBlocksTotal() * config.blockSize());
    schemaText = jsonSchema == null ? null : Files.readString(jsonSchema);
    long weightBytes = gptq ? weightBytesGptq(mc, groupSize, scaleBytes) : weightBytesBf16(mc);
    root.put("weight_bytes", weightBytes);
    root.put("copy_bandwidth_gb_per_s", copyGbs);
    // Roofline: every weight byte read once per token at the device's measured copy bandwidth
    // (bytes read + written per second; a read stream reaches about the same); under tensor
    // parallelism each GPU reads its share.
    double rooflineTps = copyGbs > 0 ? copyGbs * 1e9 * tp / weightBytes : 0;
    root.put("batch1_roofline_tokens_per_s", rooflineTps);
    ArrayNode runs = root.putArray("runs");
    StringBuilder md = new StringBuilder();
    md.append("# Decode, ").append(root.get("model").asText())
        .append(jsonSchema != null ? ", guided by " + jsonSchema.getFileName() : "")
        .append("\n\n")
        .append("Device: ").append(engine.device())
        .append(gpus > 1 ? "; " + gpus + " engines" : "")
        .append("; KV cache ").append(config.kvCacheDtype() == KvCacheDtype.FP8 ? "fp8 e4m3"
            : "bf16")
        .append("; prompt ").append(promptLen)
        .append(" tokens, ").append(outputLen).append(jsonSchema != null
            ? " new tokens at most (a guided reply ends with its document)"
            : " new tokens (EOS ignored)")
        .append(warmUpTokens > 0 && !pairs
            ? "; each batch after an untimed warm-up run of " + warmUpTokens + " tokens" : "")
        .append(copyGbs > 0 ? String.format("; device copy bandwidth %.0f GB/s, batch-1"
            + " roofline %.0f tokens/s (%.2f GB of weights per token)", copyGbs, rooflineTps,
            weightBytes / 1e9) : "").append("\n\n")
        .append("| batch | output tokens/s | per-sequence decode tokens/s (median) | TTFT p50 ms"
            + " | wall s |\n|---:|---:|---:|---:|---:|\n");
    try {
      for (Engine e : engines) {
        // Warm-up: JIT, cuBLAS heuristics.
        run(List.of(e), mc, 1, 32, new Random(0), schemaText, null, null);
      }
      for (int b : batches) {
        if (pairs) {
          // The guided run goes first, so without this it alone would pay for capturing the
          // CUDA graphs of this batch's step shapes (decode buckets, mixed prompt + decode
          // steps) and for compiling the host code at this size: about 0.2 ms a step at 0.5B,
          // batch 64, which the unguided run after it then reused.
          run(engines, mc, b, outputLen, new Random(b), schemaText, null, null);
        } else if (warmUpTokens > 0) {
          // Prompts of another seed: the timed run's must not come from the prefix cache.
          run(engines, mc, b, Math.min(warmUpTokens, outputLen), new Random(-1 - b),
              schemaText, null, null);
        }
        var before = engine.stats();
        int[] lengths = new int[b];
        double[] r = run(engines, mc, b, outputLen, new Random(b), schemaText, null, lengths);
        var after = engine.stats();
        List<GpuClocks> clocks = GpuClocks.sample();
        ObjectNode n = runs.addObject();
        n.put("batch", b);
        clockReport(n, clocks, b);
        long stepsRun = after.steps() - before.steps();
        n.put("steps", stepsRun);
        if (jsonSchema != null && stepsRun > 0) {
          // Host time computing the guided masks (off the engine thread, beside the forward
          // pass), per step of the first engine.
          double maskMs = (after.guidedMaskNanos() - before.guidedMaskNanos()) / 1e6 / stepsRun;
          n.put("guided_mask_ms_per_step", maskMs);
          LOG.info("guided masks: {} ms per step over {} steps", String.format("%.3f", maskMs),
              stepsRun);
        }
        if (stepsRun > 0) {
          // The engine thread's time per step: in the runner (GPU forward, sampling) and
          // outside it (scheduling, taking in the tokens), when the GPU waits.
          double runnerMs = (after.runnerNanos() - before.runnerNanos()) / 1e6 / stepsRun;
          double hostMs = (after.hostNanos() - before.hostNanos()) / 1e6 / stepsRun;
          n.put("runner_ms_per_step", runnerMs);
          n.put("engine_host_ms_per_step", hostMs);
          LOG.info("per step: {} ms in the runner, {} ms on the engine thread outside it",
              String.format("%.3f", runnerMs), String.format("%.3f", hostMs));
        }
        n.put("output_tokens_per_s", r[0]);
        n.put("per_sequence_decode_tokens_per_s", r[1]);
        n.put("ttft_p50_ms", r[2]);
        n.put("wall_s", r[3]);
        if (b == 1 && rooflineTps > 0) {
          n.put("share_of_roofline", r[1] / rooflineTps);
        }
        md.append(String.format("| %d | %.0f | %.1f | %.1f | %.2f |%n", b, r[0], r[1], r[2],
            r[3]));
        LOG.info("batch {}: {} output tokens/s, {} tokens/s per sequence", b,
            String.format("%.0f", r[0]), String.format("%.1f", r[1]));
        if (pairs) {
          var mid = engine.stats();
          double[] u = run(engines, mc, b, outputLen, new Random(b), null, lengths, null);
          var end = engine.stats();
          ObjectNode m = n.putObject("unguided_same_lengths");
          long steps = end.steps() - mid.steps();
          m.put("steps", steps);
          if (steps > 0) {
            m.put("runner_ms_per_step", (end.runnerNanos() - mid.runnerNanos()) / 1e6 / steps);
            m.put("engine_host_ms_per_step", (end.hostNanos() - mid.hostNanos()) / 1e6 / steps);
          }
          m.put("output_tokens_per_s", u[0]);
          m.put("per_sequence_decode_tokens_per_s", u[1]);
          m.put("ttft_p50_ms", u[2]);
          m.put("wall_s", u[3]);
          n.put("guided_over_unguided", r[0] / u[0]);
          md.append(String.format("| %d unguided, same lengths | %.0f | %.1f | %.1f | %.2f |%n",
              b, u[0], u[1], u[2], u[3]));
          LOG.info("batch {} unguided at the guided lengths: {} output tokens/s (guided {} %"
              + " of it)", b, String.format("%.0f", u[0]), String.format("%.1f",
              100 * r[0] / u[0]));
        }
      }
    } finally {
      engines.forEach(Engine::close);
    }
    if (!anySlowed && hottest > Integer.MIN_VALUE) {
      clockNotes.append(String.format("%nAfter every run the GPUs were at their top SM clock,"
          + " with no throttling (at most %d C).%n", hottest));
    }
    md.append(clockNotes);
    if (rooflineTps > 0 && runs.size() > 0 && runs.get(0).has("share_of_roofline")) {
      md.append(String.format("%nBatch 1 reaches %.0f %% of the roofline.%n",
          100 * runs.get(0).get("share_of_roofline").asDouble()));
    }
    Files.createDirectories(out);
    json.writerWithDefaultPrettyPrinter().writeValue(out.resolve(name + ".json").toFile(), root);
    Files.writeString(out.resolve(name + ".md"), md);
    System.out.print(md);
    return 0;
  }

  private String schemaText;
  /** The report's lines on the GPUs' clocks after the runs (clockReport). */
  private final StringBuilder clockNotes = new StringBuilder();
  private int hottest = Integer.MIN_VALUE;
  private boolean anySlowed;

  /**
   * Batch b's GPU clocks, sampled right after its timed run, into its JSON run n; a slowed GPU
   * (GpuClocks.slowed) gets a warning line in the report, and if none was, the report says so
   * once, after the table.
   */
  private void clockReport(ObjectNode n, List<GpuClocks> clocks, int b) {
    ArrayNode a = n.putArray("gpu_clocks");
    for (GpuClocks g : clocks) {
      ObjectNode o = a.addObject();
      o.put("index", g.index());
      o.put("sm_mhz", g.smMhz());
      o.put("max_sm_mhz", g.maxSmMhz());
      o.put("temperature_c", g.temperatureC());
      o.put("throttle_reasons", String.format("0x%x", g.throttleReasons()));
      o.put("slowed", g.slowed());
      hottest = Math.max(hottest, g.temperatureC());
      if (g.slowed()) {
        anySlowed = true;
        clockNotes.append(String.format("%nWarning: after the batch-%d run, %s: this run's"
            + " figures are not comparable with a full-clock run's.%n", b, g.describe()));
        LOG.warn("after the batch-{} run, {}", b, g.describe());
      }
    }
  }

  /**
   * The batch's requests spread over {@code engines} round-robin, all submitted at once,
   * guided by {@code schema} (null: unguided, EOS ignored). Request i generates up to outLen
   * tokens, or exactly {@code lengths[i]} when lengths is given; {@code lengthsOut} (if not
   * null) receives each request's completion length. Returns {output tokens/s, median
   * per-sequence decode tokens/s, TTFT p50 ms, wall s}.
   */
  private double[] run(List<Engine> engines, ModelConfig mc, int batch, int outLen, Random r,
      String schema, int[] lengths, int[] lengthsOut) {
    List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
    long t0 = System.nanoTime();
    for (int i = 0; i < batch; i++) {
      int[] prompt = r.ints(promptLen, 0, Math.min(mc.vocabSize(), 150_000)).toArray();
      int len = lengths != null ? Math.max(1, lengths[i]) : outLen;
      futures.add(engines.get(i % engines.size()).submit(GenerationRequest.ofTokens(
          "b" + batch + "-" + i, prompt,
          SamplingParams.greedy(len).withIgnoreEos(schema == null).withJsonSchema(schema))));
    }
    double[] perSeq = new double[batch];
    double[] ttft = new double[batch];
    long tokens = 0;
    for (int i = 0; i < batch; i++) {
      GenerationResult res = futures.get(i).join();
      if (res.message() != null) {
        throw new IllegalStateException("request failed: " + res.message());
      }
      tokens += res.completionTokens();
      if (lengthsOut != null) {
        lengthsOut[i] = res.completionTokens();
      }
      perSeq[i] = (res.completionTokens() - 1) / ((res.totalNanos() - res.firstTokenNanos())
          / 1e9);
      ttft[i] = res.firstTokenNanos() / 1e6;
    }
    double wall = (System.nanoTime() - t0) / 1e9;
    Arrays.sort(perSeq);
    Arrays.sort(ttft);
    return new double[] {tokens / wall, perSeq[batch / 2], ttft[batch / 2], wall};
  }

  /** Bytes of weights a decode step reads: every matrix once (the embedding only a row). */
  static long weightBytesBf16(ModelConfig c) {
    return 2 * c.decodeWeightElements();
  }

  /**
   * The same with the decoder's projections GPTQ int4: half a byte per weight plus a
   * {@code scaleBytes} {scale, zero} (4) or scale alone (2, every zero point 8: the runner's
   * scales without zeros) per group of each row; the LM head stays bf16.
   */
  static long weightBytesGptq(ModelConfig c, int group, int scaleBytes) {
    long d = c.hiddenSize();
    long projections = (d * (c.qSize() + 2L * c.kvSize()) + (long) c.qSize() * d
        + 3L * d * c.intermediateSize()) * c.numLayers();
    return projections / 2 + projections / group * scaleBytes
        + 2 * (c.decodeWeightElements() - projections);
  }
}
