package io.redress.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.redress.inference.runtime.KvCacheDtype;
import org.junit.jupiter.api.Test;

/** The job's {@code --engine.kv-cache-dtype}: parsed, passed to the engine, refused on the CPU. */
class JobOptionsKvCacheTest {

  private static JobOptions parse(String... extra) {
    String[] base = {"--mode", "files", "--input", "in.jsonl", "--output", "out", "--model",
        "m"};
    String[] args = java.util.Arrays.copyOf(base, base.length + extra.length);
    System.arraycopy(extra, 0, args, base.length, extra.length);
    return JobOptions.fromArgs(args);
  }

  @Test
  void defaultsToTheModelsTypeAndTakesFp8() {
    assertThat(parse().kvCacheDtype()).isEqualTo(KvCacheDtype.AUTO);
    JobOptions fp8 = parse("--engine.kv-cache-dtype", "fp8");
    assertThat(fp8.kvCacheDtype()).isEqualTo(KvCacheDtype.FP8);
    assertThat(io.redress.job.infer.InferenceFunction.engineConfig(fp8,
        io.redress.inference.engine.EngineConfig.Device.CUDA).kvCacheDtype())
        .isEqualTo(KvCacheDtype.FP8);
  }

  @Test
  void badValuesAndTheCpuAreRefusedClearly() {
    assertThatThrownBy(() -> parse("--engine.kv-cache-dtype", "int8"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("engine.kv-cache-dtype").hasMessageContaining("int8");
    assertThatThrownBy(() -> parse("--engine.kv-cache-dtype", "fp8", "--device", "cpu"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("needs a GPU");
  }
}
