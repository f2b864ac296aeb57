package io.redress.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** GpuClocks against lines nvidia-smi printed on the H100s the benchmarks ran on. */
class GpuClocksTest {

  @Test
  void aGpuAtItsTopClockWithNoReasonIsNotSlowed() {
    List<GpuClocks> g = GpuClocks.parse("0, 1980, 1980, 44, 0x0000000000000000\n");
    assertThat(g).containsExactly(new GpuClocks(0, 1980, 1980, 44, 0));
    assertThat(g.get(0).slowed()).isFalse();
    assertThat(g.get(0).describe())
        .isEqualTo("GPU 0 at 1980 of 1980 MHz, 44 C, throttling: none");
  }

  @Test
  void anIdleGpuMayLowerItsClock() {
    GpuClocks g = GpuClocks.parse("0, 345, 1980, 40, 0x0000000000000001").get(0);
    assertThat(g.slowed()).isFalse();
    assertThat(g.reasons()).isEqualTo("none");
  }

  @Test
  void thermalSlowdownIsNamedAndSlowsTheGpuEvenNearItsTopClock() {
    GpuClocks g = GpuClocks.parse("0, 1965, 1980, 87, 0x0000000000000020").get(0);
    assertThat(g.slowed()).isTrue();
    assertThat(g.reasons()).isEqualTo("software thermal slowdown");
  }

  @Test
  void aBusyGpuBelowItsTopClockIsSlowedWithoutAReason() {
    assertThat(GpuClocks.parse("0, 1500, 1980, 60, 0x0000000000000000").get(0).slowed())
        .isTrue();
  }

  @Test
  void severalReasonsAndUnknownBitsAreAllReported() {
    GpuClocks g = GpuClocks.parse("1, 1200, 1980, 70, 0x0000000000001044").get(0);
    assertThat(g.index()).isEqualTo(1);
    assertThat(g.reasons()).isEqualTo("software power cap, hardware thermal slowdown, 0x1000");
  }

  @Test
  void linesWithUnreadableFieldsAreLeftOutAndEachGpuKeepsItsLine() {
    List<GpuClocks> g = GpuClocks.parse("""
        0, 1980, 1980, 41, 0x0000000000000000
        1, [N/A], 1980, 39, 0x0000000000000000
        2, 1980, 1980, 43, [Not Supported]

        3, 1980, 1980, 45, 0x0000000000000000
        """);
    assertThat(g).extracting(GpuClocks::index).containsExactly(0, 3);
  }
}
