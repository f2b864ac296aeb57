package io.redress.inference.runtime.cuda;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.redress.inference.model.ModelLoadException;
import io.redress.inference.testing.Fixtures;
import org.junit.jupiter.api.Test;

/**
 * Until the W4A16 kernel lands, a GPTQ checkpoint on the CUDA runner is one clear error that
 * says what to do, raised before any GPU is touched (so this runs everywhere).
 */
class CudaGptqRefusalTest {

  @Test
  void gptqCheckpointIsRefusedWithTheWayOut() {
    assertThatThrownBy(() -> CudaModelRunner.load(Fixtures.modelDir("qwen2-small-gptq"),
        new CudaModelRunner.Options(0, 16, 64, 0.9, 4, 512, 1024)))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("GPTQ int4")
        .hasMessageContaining("--device cpu");
  }
}
