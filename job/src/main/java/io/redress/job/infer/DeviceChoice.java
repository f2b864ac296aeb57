package io.redress.job.infer;

import io.redress.inference.engine.EngineConfig;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.apache.flink.api.common.externalresource.ExternalResourceInfo;

/**
 * Which device a subtask's engine runs on: the device option first ({@code cpu} always means
 * the CPU runner), then the GPUs Flink assigned to the TaskManager
 * ({@code external-resource.gpu}, property "index"), spread over subtasks round-robin; without
 * them {@code auto} lets the engine use the first usable GPU or fall back to the CPU. Under
 * tensor parallelism a subtask takes a group of consecutive GPUs and its index is the first.
 */
public record DeviceChoice(EngineConfig.Device device, int gpuIndex) {

  /** Decides for one subtask, one GPU per engine. */
  public static DeviceChoice of(String deviceOption, Collection<ExternalResourceInfo> gpus,
      int subtaskIndex) {
    return of(deviceOption, gpus, subtaskIndex, 1);
  }

  /** Decides for one subtask whose engine spans {@code tensorParallelSize} GPUs. */
  public static DeviceChoice of(String deviceOption, Collection<ExternalResourceInfo> gpus,
      int subtaskIndex, int tensorParallelSize) {
    EngineConfig.Device d = EngineConfig.Device.parse(deviceOption.toLowerCase(Locale.ROOT));
    if (d == EngineConfig.Device.CPU) {
      return new DeviceChoice(d, -1);
    }
    List<Integer> indices = new ArrayList<>();
    for (ExternalResourceInfo info : gpus) {
      Optional<String> index = info.getProperty("index");
      index.ifPresent(s -> {
        try {
          indices.add(Integer.parseInt(s.trim()));
        } catch (NumberFormatException ignored) {
          // a discovery script that reports something else than an ordinal: not ours to use
        }
      });
    }
    if (indices.isEmpty()) {
      return new DeviceChoice(d, -1);
    }
    indices.sort(null);
    int groups = indices.size() / tensorParallelSize;
    if (groups == 0) {
      throw new IllegalArgumentException("tensor parallel size " + tensorParallelSize
          + " needs that many GPUs per TaskManager, which has " + indices.size() + " ("
          + indices + "): raise external-resource.gpu.amount or lower the size");
    }
    int first = (subtaskIndex % groups) * tensorParallelSize;
    for (int r = 1; r < tensorParallelSize; r++) {
      if (indices.get(first + r) != indices.get(first) + r) {
        throw new IllegalArgumentException("tensor parallel ranks run on consecutive GPUs, but"
            + " this TaskManager's GPUs are " + indices + ": give it consecutive ones");
      }
    }
    return new DeviceChoice(EngineConfig.Device.CUDA, indices.get(first));
  }
}
