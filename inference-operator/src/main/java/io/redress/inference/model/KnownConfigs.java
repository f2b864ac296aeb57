package io.redress.inference.model;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Published Qwen2.5 architectures by name, for benchmarks with random weights at real shapes
 * (the numbers are those of each checkpoint's config.json).
 */
public final class KnownConfigs {

  private static final List<Integer> EOS = List.of(151645, 151643);
  private static final Map<String, ModelConfig> CONFIGS = new LinkedHashMap<>();

  static {
    CONFIGS.put("qwen2.5-0.5b", new ModelConfig(896, 4864, 24, 14, 2, 64, 151936, 32768,
        1_000_000.0, 1e-6, true, "bfloat16", EOS));
    CONFIGS.put("qwen2.5-1.5b", new ModelConfig(1536, 8960, 28, 12, 2, 128, 151936, 32768,
        1_000_000.0, 1e-6, true, "bfloat16", EOS));
    CONFIGS.put("qwen2.5-7b", new ModelConfig(3584, 18944, 28, 28, 4, 128, 152064, 32768,
        1_000_000.0, 1e-6, false, "bfloat16", EOS));
    CONFIGS.put("qwen2.5-14b", new ModelConfig(5120, 13824, 48, 40, 8, 128, 152064, 32768,
        1_000_000.0, 1e-5, false, "bfloat16", EOS));
  }

  private KnownConfigs() {}

  /** The names accepted by {@link #get}. */
  public static List<String> names() {
    return List.copyOf(CONFIGS.keySet());
  }

  /**
   * The architecture called {@code name} (e.g. "qwen2.5-7b").
   *
   * @throws IllegalArgumentException naming the known ones when unknown
   */
  public static ModelConfig get(String name) {
    ModelConfig c = CONFIGS.get(name.toLowerCase(java.util.Locale.ROOT));
    if (c == null) {
      throw new IllegalArgumentException("unknown model config '" + name + "': known are "
          + names());
    }
    return c;
  }
}
