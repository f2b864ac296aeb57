package io.redress.job.infer;

import io.redress.inference.engine.Engine;
import io.redress.inference.engine.EngineConfig;
import io.redress.inference.engine.EngineStats;
import io.redress.inference.engine.FinishReason;
import io.redress.inference.engine.GenerationRequest;
import io.redress.inference.engine.GenerationResult;
import io.redress.inference.engine.SamplingParams;
import io.redress.job.JobOptions;
import io.redress.job.model.Generation;
import io.redress.job.model.PromptedComplaint;
import io.redress.schemas.ReplySchema;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.apache.flink.streaming.api.functions.async.RichAsyncFunction;

/**
 * Operator "inference": sends each prompt to the TaskManager's shared engine and completes
 * asynchronously, so one subtask keeps up to {@code inference.capacity} requests in flight and
 * the engine batches them. Every request is guided by reply.schema.json. A request-level failure
 * (error, timeout) becomes a Generation with an error code, i.e. a dead letter later; an engine
 * shutting down under a request fails the task instead, so the request is re-sent after the
 * restore (in-flight requests are part of the async operator's checkpoint).
 */
public final class InferenceFunction extends RichAsyncFunction<PromptedComplaint, Generation> {

  private final JobOptions options;
  private transient EngineRegistry registry;
  private transient EngineKey key;
  private transient Engine engine;
  private transient SamplingParams sampling;
  private transient String modelName;
  private transient String idPrefix;
  private transient AtomicLong sequence;
  private transient Map<PromptedComplaint, String> inFlight;
  private transient Counter promptTokens;
  private transient Counter completionTokens;
  private transient Counter cachedTokens;
  private transient Histogram latency;
  private transient volatile boolean closing;

  public InferenceFunction(JobOptions options) {
    this.options = options;
  }

  /** The engine the job's options describe, on {@code device}. */
  public static EngineConfig engineConfig(JobOptions options, EngineConfig.Device device) {
    return engineConfig(options, new DeviceChoice(device, -1));
  }

  /**
   * The engine the job's options describe on a subtask's device: one engine per GPU of the
   * TaskManager ({@code choice.gpuIndex()}, -1: the first usable one).
   */
  public static EngineConfig engineConfig(JobOptions options, DeviceChoice choice) {
    return EngineConfig.builder(Path.of(options.modelDir()))
        .device(choice.device())
        .gpu(Math.max(0, choice.gpuIndex()))
        .blockSize(options.blockSize())
        .numBlocks(options.numBlocks())
        .kvCacheDtype(options.kvCacheDtype())
        .tensorParallelSize(options.tensorParallelSize())
        .maxNumSeqs(options.maxNumSeqs())
        .maxNumBatchedTokens(options.maxBatchedTokens())
        .enablePrefixCaching(options.prefixCaching())
        .build();
  }

  /** Every reply: greedy, guided by reply.schema.json. */
  public static SamplingParams sampling(JobOptions options) {
    return SamplingParams.greedy(options.maxNewTokens()).withJsonSchema(ReplySchema.text());
  }

  @Override
  public void open(OpenContext ctx) {
    int subtask = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
    DeviceChoice choice = DeviceChoice.of(options.device(),
        getRuntimeContext().getExternalResourceInfos("gpu"), subtask,
        options.tensorParallelSize());
    EngineConfig config = engineConfig(options, choice);
    registry = EngineRegistry.shared();
    key = new EngineKey(config, choice.gpuIndex());
    engine = registry.acquire(key);
    sampling = sampling(options);
    Path name = Path.of(options.modelDir()).toAbsolutePath().normalize().getFileName();
    modelName = name == null ? options.modelDir() : name.toString();
    idPrefix = getRuntimeContext().getTaskInfo().getAttemptNumber() + "-" + subtask + "-";
    sequence = new AtomicLong();
    inFlight = new ConcurrentHashMap<>();
    registerMetrics(getRuntimeContext().getMetricGroup());
  }

  private void registerMetrics(MetricGroup g) {
    promptTokens = g.counter("promptTokens");
    completionTokens = g.counter("completionTokens");
    cachedTokens = g.counter("cachedTokens");
    latency = g.histogram("latencyMs", new DescriptiveStatisticsHistogram(10_000));
    g.gauge("inFlight", () -> inFlight.size());
    // Engine-wide figures (the engine is shared by the TaskManager's subtasks).
    g.gauge("tokensPerSecond", () -> stats().tokensPerSecond());
    g.gauge("batchSize", () -> stats().running());
    g.gauge("waiting", () -> stats().waiting());
    g.gauge("kvUsage", () -> {
      EngineStats s = stats();
      return s.kvBlocksTotal() == 0 ? 0.0 : (double) s.kvBlocksUsed() / s.kvBlocksTotal();
    });
    g.gauge("prefixHitRate", () -> stats().prefixHitRate());
    g.gauge("preemptions", () -> stats().preemptions());
  }

  private EngineStats stats() {
    return engine.stats();
  }

  @Override
  public void asyncInvoke(PromptedComplaint in, ResultFuture<Generation> out) {
    String id = idPrefix + sequence.incrementAndGet() + "-" + in.complaint.event.getComplaintId();
    inFlight.put(in, id);
    engine.submit(GenerationRequest.ofTokens(id, in.promptTokens, sampling))
        .whenComplete((r, err) -> {
          inFlight.remove(in);
          if (closing) {
            // Aborted by close(): the request is in the operator's state and is sent again by a
            // restored task; failing here would fail a task that is stopping cleanly.
            return;
          }
          if (err != null) {
            out.completeExceptionally(err);
          } else if (r.finishReason() == FinishReason.ABORT) {
            // The engine closed under us (the task is going down): fail, so the restored task
            // sends the request again rather than calling it a dead letter.
            out.completeExceptionally(new IllegalStateException("request " + id
                + " aborted: " + r.message()));
          } else {
            out.complete(List.of(toGeneration(in, r)));
          }
        });
  }

  @Override
  public void timeout(PromptedComplaint in, ResultFuture<Generation> out) {
    String id = inFlight.remove(in);
    if (id != null) {
      engine.cancel(id);
    }
    Generation g = base(in);
    g.errorCode = "inference_timeout";
    g.errorMessage = "no reply within " + options.inferenceTimeout().toMillis() + " ms";
    g.finishReason = "error";
    out.complete(List.of(g));
  }

  private Generation toGeneration(PromptedComplaint in, GenerationResult r) {
    Generation g = base(in);
    g.text = r.text();
    g.finishReason = r.finishReason().jsonName();
    g.promptTokens = r.promptTokens();
    g.cachedTokens = r.cachedTokens();
    g.completionTokens = r.completionTokens();
    g.latencyMs = r.totalNanos() / 1_000_000;
    if (r.finishReason() == FinishReason.ERROR) {
      g.errorCode = "engine_error";
      g.errorMessage = r.message();
    }
    promptTokens.inc(r.promptTokens());
    completionTokens.inc(r.completionTokens());
    cachedTokens.inc(r.cachedTokens());
    latency.update(g.latencyMs);
    return g;
  }

  private Generation base(PromptedComplaint in) {
    Generation g = new Generation();
    g.complaint = in.complaint;
    g.promptVersion = in.promptVersion;
    g.model = modelName;
    g.promptTokens = in.promptTokens.length;
    return g;
  }

  @Override
  public void close() {
    closing = true;
    if (inFlight != null) {
      // Requests of a failed or cancelled attempt would otherwise still occupy the shared engine.
      inFlight.values().forEach(engine::cancel);
      inFlight.clear();
    }
    if (key != null) {
      registry.release(key);
      key = null;
    }
  }
}
