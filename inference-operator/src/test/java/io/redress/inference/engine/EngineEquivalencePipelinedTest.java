package io.redress.inference.engine;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * {@link EngineEquivalenceTest} with decode steps scheduled ahead of their tokens (a runner
 * that pipelines, fed from the step before): the same tokens, preemption and chunking included.
 */
class EngineEquivalencePipelinedTest extends EngineEquivalenceTest {

  @Override
  boolean pipelined() {
    return true;
  }

  @Test
  void decodeStepsRanAheadOfTheirTokens() {
    runAll(EngineConfig.builder(dir).build(), 2048);
    assertThat(runner.fedSteps()).as("fed steps").isPositive();
  }
}
