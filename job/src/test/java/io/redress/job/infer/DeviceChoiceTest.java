package io.redress.job.infer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.redress.inference.engine.EngineConfig;
import io.redress.job.JobOptions;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.flink.api.common.externalresource.ExternalResourceInfo;
import org.junit.jupiter.api.Test;

/**
 * Data parallelism inside a TaskManager: the GPUs Flink assigns (external resource {@code gpu})
 * are spread over the inference subtasks round-robin, each GPU's subtasks share one engine key
 * (so the registry opens one engine per GPU) whose config names that GPU, and {@code cpu} or
 * no GPUs keep one engine.
 */
class DeviceChoiceTest {

  /** A GPU as Flink's GPU discovery reports it. */
  record Gpu(String index) implements ExternalResourceInfo {
    @Override
    public Optional<String> getProperty(String key) {
      return key.equals("index") ? Optional.of(index) : Optional.empty();
    }

    @Override
    public java.util.Collection<String> getKeys() {
      return Set.of("index");
    }
  }

  private static final JobOptions OPTIONS = JobOptions.fromArgs("--mode", "files", "--input",
      "in.jsonl", "--output", "out", "--model", "m");

  @Test
  void subtasksSpreadOverTheTaskManagersGpusAndShareAnEnginePerGpu() {
    List<ExternalResourceInfo> gpus = List.of(new Gpu("3"), new Gpu("1"));
    Set<EngineKey> engines = new java.util.LinkedHashSet<>();
    int[] expected = {1, 3, 1, 3};
    for (int subtask = 0; subtask < 4; subtask++) {
      DeviceChoice choice = DeviceChoice.of("auto", gpus, subtask);
      assertThat(choice.device()).isEqualTo(EngineConfig.Device.CUDA);
      assertThat(choice.gpuIndex()).isEqualTo(expected[subtask]);
      EngineConfig config = InferenceFunction.engineConfig(OPTIONS, choice);
      assertThat(config.gpu()).isEqualTo(expected[subtask]);
      engines.add(new EngineKey(config, choice.gpuIndex())); // the registry's map key
    }
    assertThat(engines).extracting(k -> k.config().gpu()).containsExactly(1, 3);
  }

  @Test
  void tensorParallelSubtasksTakeGroupsOfConsecutiveGpus() {
    JobOptions tp2 = JobOptions.fromArgs("--mode", "files", "--input", "in.jsonl", "--output",
        "out", "--model", "m", "--engine.tensor-parallel-size", "2");
    List<ExternalResourceInfo> four = List.of(new Gpu("2"), new Gpu("0"), new Gpu("3"),
        new Gpu("1"));
    int[] expected = {0, 2, 0, 2};
    for (int subtask = 0; subtask < 4; subtask++) {
      DeviceChoice choice = DeviceChoice.of("auto", four, subtask, 2);
      assertThat(choice.gpuIndex()).isEqualTo(expected[subtask]);
      EngineConfig config = InferenceFunction.engineConfig(tp2, choice);
      assertThat(config.gpu()).isEqualTo(expected[subtask]);
      assertThat(config.tensorParallelSize()).isEqualTo(2);
    }
    assertThatThrownBy(() -> DeviceChoice.of("auto", List.of(new Gpu("0")), 0, 2))
        .hasMessageContaining("needs that many GPUs per TaskManager, which has 1");
    assertThatThrownBy(() -> DeviceChoice.of("auto", List.of(new Gpu("0"), new Gpu("2")), 0, 2))
        .hasMessageContaining("consecutive");
    assertThatThrownBy(() -> JobOptions.fromArgs("--mode", "files", "--input", "in.jsonl",
        "--output", "out", "--model", "m", "--device", "cpu", "--engine.tensor-parallel-size",
        "2")).hasMessageContaining("splits the model over GPUs");
  }

  @Test
  void cpuOrNoGpusKeepOneEngine() {
    DeviceChoice cpu = DeviceChoice.of("cpu", List.of(new Gpu("0")), 1);
    assertThat(cpu.device()).isEqualTo(EngineConfig.Device.CPU);
    DeviceChoice auto = DeviceChoice.of("auto", List.of(), 5);
    assertThat(auto.gpuIndex()).isEqualTo(-1);
    assertThat(InferenceFunction.engineConfig(OPTIONS, auto).gpu()).isZero();
  }
}
