package io.redress.inference.runtime.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loading NCCL without a GPU: wherever libnccl is missing (as on CI), {@link Nccl#available()}
 * and {@link Nccl#open} say what was tried and what to do instead of failing on a link error;
 * where it loads, its version reads back sensibly.
 */
class NcclTest {

  @Test
  void availableIsNullOrSaysWhatWasTriedAndWhatToDo() {
    String why = Nccl.available();
    if (why == null) {
      assertThat(Nccl.version()).matches("2\\.\\d+\\.\\d+ \\(.+\\)");
      return;
    }
    assertThat(why).contains("tried", "nccl", "libnccl.so.2", "nvidia-nccl-cu12",
        "-D" + Nccl.LIBRARY_PROPERTY);
    assertThatThrownBy(() -> Nccl.open(List.of()))
        .isInstanceOf(IllegalStateException.class).hasMessage(why);
  }

  @Test
  void aFileThatIsNotNcclIsReportedNotThrown(@TempDir Path dir) throws Exception {
    Path fake = Files.writeString(dir.resolve("libnccl.so.2"), "not a shared library");
    Nccl.Binding b = Nccl.bind(List.of(fake.toString(), dir.resolve("missing.so").toString()));
    assertThat(b.library()).isNull();
    assertThat(b.failure()).contains(fake.toString(), "missing.so", "pip install");
  }

  @Test
  void theSystemPropertyIsTheOnlyCandidateWhenSet() {
    String before = System.getProperty(Nccl.LIBRARY_PROPERTY);
    System.setProperty(Nccl.LIBRARY_PROPERTY, "/opt/x/libnccl.so.2");
    try {
      assertThat(Nccl.candidates()).containsExactly("/opt/x/libnccl.so.2");
    } finally {
      if (before == null) {
        System.clearProperty(Nccl.LIBRARY_PROPERTY);
      } else {
        System.setProperty(Nccl.LIBRARY_PROPERTY, before);
      }
    }
    if (before == null) {
      assertThat(Nccl.candidates()).startsWith("nccl", "libnccl.so.2")
          .allMatch(c -> !c.startsWith("/") || c.endsWith("/nvidia/nccl/lib/libnccl.so.2"));
    }
  }

  @Test
  void versionCodesOfBothEncodings() {
    assertThat(Nccl.versionString(22105)).isEqualTo("2.21.5"); // 2.9 and later: X*10000+Y*100+Z
    assertThat(Nccl.versionString(2708)).isEqualTo("2.7.8"); // before 2.9: X*1000+Y*100+Z
  }
}
