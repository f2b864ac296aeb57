package io.redress.inference.sched;

import io.redress.inference.engine.FinishReason;
import io.redress.inference.engine.SamplingParams;
import io.redress.inference.guide.GrammarMatcher;
import java.util.Arrays;
import java.util.List;

/**
 * One request's tokens and progress: the prompt followed by what has been generated, how much
 * of it has KV in the cache, and the blocks that hold it.
 */
public final class Sequence {

  /** Where a sequence is in its life. */
  public enum Status { WAITING, RUNNING, FINISHED }

  private final String requestId;
  private final long arrivalNanos;
  private final int numPromptTokens;
  private final SamplingParams params;
  private final long seed;
  private final BlockTable blockTable = new BlockTable();
  private int[] tokens;
  private int length;

  Status status = Status.WAITING;
  /** Tokens whose KV is in the cache. */
  int numComputed;
  /** Prompt tokens served by the prefix cache at first admission; -1 before it. */
  int numCachedTokens = -1;
  long firstScheduledNanos = -1;
  long firstTokenNanos = -1;
  FinishReason finishReason;
  /** Why it ended in error, or null. */
  String errorMessage;
  /** Guided decoding state, or null for free text. */
  private GrammarMatcher matcher;
  /**
   * A sampled token the matcher has not taken yet, or -1. In large batches the matchers advance
   * on the engine's mask workers beside the next forward pass ({@link #advanceMatcher}), not on
   * the engine thread between steps; the scheduler settles what that found after the step.
   */
  private int deferredToken = -1;
  /** Set by {@link #advanceMatcher}: the deferred token completed the document. */
  boolean deferredEnded;
  /** Set by {@link #advanceMatcher}: the grammar refused the deferred token, or null. */
  String deferredError;

  public Sequence(String requestId, int[] prompt, SamplingParams params, long seed,
      long arrivalNanos) {
    if (prompt.length == 0) {
      throw new IllegalArgumentException("empty prompt");
    }
    this.requestId = requestId;
    this.tokens = Arrays.copyOf(prompt, prompt.length + Math.min(params.maxTokens(), 1024));
    this.length = prompt.length;
    this.numPromptTokens = prompt.length;
    this.params = params;
    this.seed = seed;
    this.arrivalNanos = arrivalNanos;
  }

  public String requestId() {
    return requestId;
  }

  /** All tokens: prompt then generated (the backing array; read the first {@link #length()}). */
  int[] tokens() {
    return tokens;
  }

  public int length() {
    return length;
  }

  public int numPromptTokens() {
    return numPromptTokens;
  }

  public int numGenerated() {
    return length - numPromptTokens;
  }

  public int numComputed() {
    return numComputed;
  }

  /** Prompt tokens served by the prefix cache when first admitted (0 before admission). */
  public int numCachedTokens() {
    return Math.max(numCachedTokens, 0);
  }

  public SamplingParams params() {
    return params;
  }

  public long seed() {
    return seed;
  }

  public Status status() {
    return status;
  }

  public FinishReason finishReason() {
    return finishReason;
  }

  public String errorMessage() {
    return errorMessage;
  }

  /** The guided-decoding matcher, or null. */
  public GrammarMatcher matcher() {
    return matcher;
  }

  /** Guides this sequence's output by {@code m} (before it is scheduled). */
  public void guide(GrammarMatcher m) {
    this.matcher = m;
  }

  /** Leaves the matcher's advance over {@code token} to {@link #advanceMatcher}. */
  void deferMatcher(int token) {
    deferredToken = token;
  }

  /**
   * Advances the matcher over the deferred token, if any (a no-op otherwise). The engine calls
   * it on a mask worker, before filling this sequence's mask, while the GPU runs the step; the
   * scheduler reads the outcome after the step, once the masks are done.
   */
  public void advanceMatcher() {
    int token = deferredToken;
    if (token < 0) {
      return;
    }
    deferredToken = -1;
    if (!matcher.acceptToken(token)) {
      deferredError = "guided decoding: token " + token + " was sampled although the mask"
          + " forbade it";
    } else if (matcher.isTerminated()) {
      deferredEnded = true;
    }
  }

  public BlockTable blockTable() {
    return blockTable;
  }

  public long arrivalNanos() {
    return arrivalNanos;
  }

  public long firstScheduledNanos() {
    return firstScheduledNanos;
  }

  public long firstTokenNanos() {
    return firstTokenNanos;
  }

  /** The last token. */
  public int lastToken() {
    return tokens[length - 1];
  }

  /** The generated ids. */
  public List<Integer> generated() {
    return Arrays.stream(tokens, numPromptTokens, length).boxed().toList();
  }

  void append(int token) {
    if (length == tokens.length) {
      tokens = Arrays.copyOf(tokens, tokens.length * 2);
    }
    tokens[length++] = token;
  }

  @Override
  public String toString() {
    return "Sequence[" + requestId + ", " + status + ", len " + length + ", computed "
        + numComputed + ", blocks " + blockTable + "]";
  }
}
