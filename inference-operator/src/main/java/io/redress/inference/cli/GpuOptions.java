package io.redress.inference.cli;

import io.redress.inference.engine.EngineConfig;
import io.redress.inference.runtime.KvCacheDtype;
import picocli.CommandLine.Option;

/**
 * The GPU engine's memory and placement options, shared by {@code generate} and the
 * benchmarks ({@code @Mixin}).
 */
public final class GpuOptions {

  @Option(names = "--kv-cache-dtype", defaultValue = "auto", paramLabel = "auto|fp8",
      description = "KV cache storage: auto (bf16 on the GPU) or fp8 (e4m3 with a scale per"
          + " token and KV head: about twice the tokens; GPU only) (default: ${DEFAULT-VALUE}).")
  String kvCacheDtype;

  @Option(names = "--tensor-parallel-size", defaultValue = "1", paramLabel = "N",
      description = "Split the model over GPUs 0..N-1 (attention heads and MLP units,"
          + " all-reduced over NVLink); needs N GPUs with peer access (default:"
          + " ${DEFAULT-VALUE}).")
  int tensorParallelSize;

  /** The KV cache dtype asked for. */
  public KvCacheDtype kvCacheDtype() {
    return KvCacheDtype.parse(kvCacheDtype);
  }

  /** GPUs per model. */
  public int tensorParallelSize() {
    return tensorParallelSize;
  }

  /** Sets these options on {@code builder}. */
  public EngineConfig.Builder applyTo(EngineConfig.Builder builder) {
    return builder.kvCacheDtype(kvCacheDtype()).tensorParallelSize(tensorParallelSize);
  }
}
