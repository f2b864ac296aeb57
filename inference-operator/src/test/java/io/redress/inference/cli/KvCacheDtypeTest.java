package io.redress.inference.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.redress.inference.engine.EngineConfig;
import io.redress.inference.runtime.KvCacheDtype;
import io.redress.inference.testing.Fixtures;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The {@code --kv-cache-dtype} setting: its spellings, and one clear error where it cannot
 * apply (the CPU runner keeps K and V in fp32) or is misspelt. The FP8 cache itself is tested
 * on the GPU (CudaFp8KvGpuTest).
 */
class KvCacheDtypeTest {

  @Test
  void spellings() {
    assertThat(KvCacheDtype.parse("auto")).isEqualTo(KvCacheDtype.AUTO);
    assertThat(KvCacheDtype.parse("BF16")).isEqualTo(KvCacheDtype.AUTO);
    assertThat(KvCacheDtype.parse("fp8")).isEqualTo(KvCacheDtype.FP8);
    assertThat(KvCacheDtype.parse("fp8_E4M3")).isEqualTo(KvCacheDtype.FP8);
    assertThatThrownBy(() -> KvCacheDtype.parse("fp8_e5m2"))
        .hasMessageContaining("fp8_e5m2").hasMessageContaining("auto (bf16) or fp8");
  }

  @Test
  void fp8OnTheCpuIsRefused() {
    assertThatThrownBy(() -> EngineConfig.builder(Path.of("m"))
        .device(EngineConfig.Device.CPU).kvCacheDtype(KvCacheDtype.FP8).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("CUDA runner").hasMessageContaining("--kv-cache-dtype auto");
    assertThat(EngineConfig.builder(Path.of("m")).kvCacheDtype(KvCacheDtype.FP8).build()
        .kvCacheDtype()).isEqualTo(KvCacheDtype.FP8);
  }

  @Test
  void theCliGivesOneClearError() {
    String model = Fixtures.modelDir("qwen2-small-untied").toString();
    for (String[] flags : new String[][] {{"--device", "cpu", "--kv-cache-dtype", "fp8"},
        {"--kv-cache-dtype", "int4"}}) {
      CliRun run = CliRun.of("", concat(new String[] {"generate", "--model", model, "--prompt",
          "hi", "--max-tokens", "1"}, flags));
      assertThat(run.status()).as(run.err()).isEqualTo(1);
      assertThat(run.errorLines()).as(run.err()).isEqualTo(1);
      assertThat(run.err()).doesNotContain("\tat ").contains("kv-cache-dtype");
      assertThat(run.out()).isEmpty();
    }
  }

  private static String[] concat(String[] a, String[] b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
