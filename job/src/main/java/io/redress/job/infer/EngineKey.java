package io.redress.job.infer;

import io.redress.inference.engine.EngineConfig;

/**
 * What makes two operators able to share an engine: the same model on the same device with the
 * same settings. {@code gpuIndex} is -1 for the CPU or "whichever GPU the engine picks".
 */
public record EngineKey(EngineConfig config, int gpuIndex) {

  @Override
  public String toString() {
    return config.modelDir() + " on " + (gpuIndex >= 0 ? "gpu " + gpuIndex
        : config.device().name().toLowerCase(java.util.Locale.ROOT));
  }
}
