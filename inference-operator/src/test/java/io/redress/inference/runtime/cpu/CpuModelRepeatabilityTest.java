package io.redress.inference.runtime.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.model.ModelConfig;
import io.redress.inference.model.RandomCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same tokens through the same model give the same logits, to the bit, however long the
 * JVM has run: the first passes run interpreted or C1-compiled code, later ones C2's, and an
 * operation whose result depends on the tier (the Vector API's EXP did) shows up as logits
 * that change a few passes in. The passes run in a fresh JVM: in this one, other tests may
 * already have had C2 compile the CPU runner, and then every pass would agree.
 */
class CpuModelRepeatabilityTest {

  /** 64 tokens: most softmax rows are longer than a vector, so its vector loop runs too. */
  private static final ModelConfig CONFIG = new ModelConfig(64, 96, 2, 4, 2, 16, 300, 256,
      10000.0, 1e-6, false, "bfloat16", List.of(1));
  private static final int TOKENS = 64;
  private static final int PASSES = 150;

  @Test
  void repeatedPassesInOneJvmGiveBitIdenticalLogits(@TempDir Path dir) throws Exception {
    RandomCheckpoint.write(CONFIG, dir, 11);
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    if (VecOps.SIMD) {
      command.addAll(List.of("--add-modules", "jdk.incubator.vector"));
    }
    command.addAll(List.of("-cp", System.getProperty("java.class.path"),
        Passes.class.getName(), dir.toString()));
    Path log = dir.resolve("passes.log");
    Process p = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(log.toFile()).start();
    boolean done = p.waitFor(60, TimeUnit.SECONDS);
    if (!done) {
      p.destroyForcibly();
    }
    assertThat(done).as("passes finished within 60 s").isTrue();
    assertThat(p.exitValue()).as(Files.readString(log)).isZero();
  }

  /** Runs the passes; exits 1 at the first one that differs from the first. */
  static final class Passes {

    public static void main(String[] args) {
      CpuGenerator generator = new CpuGenerator(CpuModel.load(Path.of(args[0])));
      Random r = new Random(5);
      int[] tokens = new int[TOKENS];
      for (int i = 0; i < TOKENS; i++) {
        tokens[i] = r.nextInt(CONFIG.vocabSize());
      }
      float[] first = generator.logitsOfAllPositions(tokens);
      for (int pass = 2; pass <= PASSES; pass++) {
        float[] logits = generator.logitsOfAllPositions(tokens);
        int differ = 0;
        for (int i = 0; i < first.length; i++) {
          if (Float.floatToRawIntBits(logits[i]) != Float.floatToRawIntBits(first[i])) {
            differ++;
          }
        }
        if (differ > 0) {
          System.out.printf("pass %d: %d of %d logits differ from pass 1%n", pass, differ,
              first.length);
          System.exit(1);
        }
      }
      System.out.printf("%d passes, identical logits%n", PASSES);
    }
  }
}
