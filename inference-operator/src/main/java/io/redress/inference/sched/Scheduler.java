package io.redress.inference.sched;

import io.redress.inference.engine.FinishReason;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Set;

/**
 * Continuous batching: decides, step by step, which sequences compute how many tokens.
 *
 * <p>Each step first serves running sequences (oldest first: decodes, and the next chunk of
 * prompts being prefilled), then admits waiting ones in arrival order while KV blocks and the
 * token budget last. Long prompts are split into chunks (chunked prefill) so they share steps
 * with decodes instead of stalling them. When a running sequence cannot grow, the most
 * recently admitted one is preempted: its blocks are freed and it waits at the front of the
 * queue to be recomputed (its prefix mostly comes back from the prefix cache).
 *
 * <p>Not thread-safe: the engine's loop thread is its only user.
 */
public final class Scheduler {

  private final BlockManager blocks;
  private final int maxNumSeqs;
  private final int maxNumBatchedTokens;
  private final int maxModelLen;
  private final boolean chunkedPrefill;
  private final Set<Integer> eosTokenIds;
  private final JumpForward jumpForward;
  private long jumpForwardTokens;
  private int jumpForwardMaxRunning = Integer.MAX_VALUE;
  private boolean deferMatchers = true;
  private final Deque<Sequence> waiting = new ArrayDeque<>();
  private final List<Sequence> running = new ArrayList<>(); // admission order
  private long preemptions;

  /** Turns bytes a grammar forces into tokens to append without sampling (jump-forward). */
  @FunctionalInterface
  public interface JumpForward {
    /** The tokens whose bytes are exactly {@code forced}, or an empty array to not jump. */
    int[] tokensFor(byte[] forced);
  }

  public Scheduler(BlockManager blocks, int maxNumSeqs, int maxNumBatchedTokens,
      int maxModelLen, boolean chunkedPrefill, Set<Integer> eosTokenIds) {
    this(blocks, maxNumSeqs, maxNumBatchedTokens, maxModelLen, chunkedPrefill, eosTokenIds,
        forced -> new int[0]);
  }

  public Scheduler(BlockManager blocks, int maxNumSeqs, int maxNumBatchedTokens,
      int maxModelLen, boolean chunkedPrefill, Set<Integer> eosTokenIds,
      JumpForward jumpForward) {
    this.jumpForward = jumpForward;
    this.blocks = blocks;
    this.maxNumSeqs = maxNumSeqs;
    this.maxNumBatchedTokens = maxNumBatchedTokens;
    this.maxModelLen = maxModelLen;
    this.chunkedPrefill = chunkedPrefill;
    this.eosTokenIds = Set.copyOf(eosTokenIds);
  }

  /** Queues a new sequence behind those already waiting. */
  public void add(Sequence seq) {
    seq.status = Sequence.Status.WAITING;
    waiting.addLast(seq);
  }

  public boolean hasWork() {
    return !waiting.isEmpty() || !running.isEmpty();
  }

  public int numWaiting() {
    return waiting.size();
  }

  public int numRunning() {
    return running.size();
  }

  public long preemptions() {
    return preemptions;
  }

  /**
   * Appends forced text only while at most {@code n} sequences run: on a runner whose uniform
   * decode steps are much cheaper, a large batch samples forced tokens one per step instead.
   */
  public void limitJumpForward(int n) {
    jumpForwardMaxRunning = n;
  }

  /**
   * Whether guided sequences may leave their matcher's advance to the next step's mask workers
   * while more than the jump-forward limit run (default true; see {@link #postprocess}).
   */
  public void deferMatchers(boolean on) {
    deferMatchers = on;
  }

  /** Tokens appended by jump-forward (guided decoding) since start. */
  public long jumpForwardTokens() {
    return jumpForwardTokens;
  }

  public BlockManager blockManager() {
    return blocks;
  }

  /** The next step; empty only when nothing can run (no work). */
  public ScheduledStep schedule(long nowNanos) {
    List<Sequence> seqs = new ArrayList<>();
    List<Integer> counts = new ArrayList<>();
    int budget = maxNumBatchedTokens;
    boolean preempted = false;

    // Running sequences first, oldest first; victims come from the young end.
    for (int i = 0; i < running.size() && budget > 0 && seqs.size() < maxNumSeqs; i++) {
      Sequence seq = running.get(i);
      int n = Math.min(seq.length() - seq.numComputed, budget);
      while (!blocks.canAppend(seq.blockTable(), seq.numComputed + n)) {
        Sequence victim = running.get(running.size() - 1);
        preempt(victim);
        preempted = true;
        if (victim == seq) {
          break;
        }
      }
      if (seq.status != Sequence.Status.RUNNING) {
        break; // it preempted itself: everything younger is gone too
      }
      blocks.append(seq.blockTable(), seq.numComputed + n);
      blocks.markComputed(seq.blockTable(), seq.tokens(), seq.numComputed + n);
      seqs.add(seq);
      counts.add(n);
      budget -= n;
    }

    // Then admit waiting sequences in arrival order; none while we are short of blocks.
    if (!preempted) {
      admit(seqs, counts, budget, nowNanos);
    }
    return new ScheduledStep(seqs, counts);
  }

  /**
   * Admits waiting sequences in arrival order into a step being scheduled, while KV blocks,
   * {@code budget} tokens and the step's sequence slots last.
   */
  private void admit(List<Sequence> seqs, List<Integer> counts, int budget, long nowNanos) {
    while (!waiting.isEmpty() && budget > 0 && seqs.size() < maxNumSeqs) {
      Sequence seq = waiting.peekFirst();
      if (!blocks.canAllocate(seq.tokens(), seq.length())) {
        break;
      }
      int cached = blocks.allocate(seq.blockTable(), seq.tokens(), seq.length());
      int n = Math.min(seq.length() - cached, budget);
      if (!chunkedPrefill && n < seq.length() - cached) {
        blocks.free(seq.blockTable());
        break;
      }
      waiting.pollFirst();
      seq.numComputed = cached;
      if (seq.numCachedTokens < 0) {
        seq.numCachedTokens = cached;
      }
      if (seq.firstScheduledNanos < 0) {
        seq.firstScheduledNanos = nowNanos;
      }
      seq.status = Sequence.Status.RUNNING;
      // Blocks this step fills are shareable by sequences admitted after this one in the same
      // step: a forward pass writes every new token's K/V before any attention reads them.
      blocks.markComputed(seq.blockTable(), seq.tokens(), cached + n);
      running.add(seq);
      seqs.add(seq);
      counts.add(n);
      budget -= n;
    }
  }

  /**
   * The step after {@code step}, scheduled while {@code step} runs and before its tokens are
   * known (pipelined decode): every sequence of {@code step} first computes the token that step
   * samples for it, which the runner takes from the device ({@link ScheduledStep#fed}), then
   * waiting sequences are admitted as {@link #schedule} admits them. The blocks are taken here.
   * Null wherever the running sequences' part might differ from what {@link #schedule} decides
   * once the tokens are in: a sequence of {@code step} does not sample, is guided while
   * jump-forward may append forced tokens ({@link #guidesAhead}), or ends by length with that
   * token; a running sequence sits out of {@code step}; or the blocks for every sequence's next
   * token are not all free (nothing is preempted ahead). A sequence that the token then ends
   * (EOS, a stop token or string, a cancel) took part for nothing: {@link #postprocess} skips
   * it. Admitted ones may be fewer than {@link #schedule} would admit (those ending with the
   * token still hold their slots and blocks); the next step admits the rest.
   */
  public ScheduledStep scheduleAhead(ScheduledStep step, long nowNanos) {
    List<Sequence> seqs = step.seqs();
    if (seqs.size() != running.size()) {
      return null;
    }
    int need = 0;
    for (int i = 0; i < seqs.size(); i++) {
      Sequence seq = seqs.get(i);
      if (seq != running.get(i) || !step.samples(i) || seq.matcher() != null && !guidesAhead()
          || seq.numGenerated() + 1 >= seq.params().maxTokens()
          || seq.length() + 1 >= maxModelLen) {
        return null;
      }
      need += blocks.blocksFor(seq.length() + 1) - seq.blockTable().size();
    }
    if (need > blocks.numFreeBlocks()) {
      return null;
    }
    List<Sequence> next = new ArrayList<>(seqs);
    List<Integer> counts = new ArrayList<>(seqs.size());
    for (Sequence seq : seqs) {
      blocks.append(seq.blockTable(), seq.length() + 1);
      counts.add(1);
    }
    admit(next, counts, maxNumBatchedTokens - seqs.size(), nowNanos);
    return new ScheduledStep(next, counts, seqs.size());
  }

  /**
   * Whether guided sequences may run ahead: only where {@link #postprocess} appends one
   * sampled token and defers the matcher (no jump-forward, whose forced tokens would make the
   * next step's length depend on the token), so their masks can follow the forward pass.
   */
  private boolean guidesAhead() {
    return deferMatchers && largeBatch();
  }

  /** More sequences run than jump-forward serves: forced tokens are sampled one per step. */
  private boolean largeBatch() {
    return running.size() > jumpForwardMaxRunning;
  }

  /** What a step did to its sequences (see {@link #postprocess}). */
  public record Outcome(List<Sequence> updated, List<Sequence> endedWithoutToken) {}

  /**
   * Records what a step computed and the tokens it sampled, and finishes sequences that hit
   * EOS, a stop token, maxTokens or the maximum length.
   *
   * <p>While more than the jump-forward limit run, a guided sequence's token is handed to its
   * matcher beside the next step ({@link Sequence#advanceMatcher}, on the engine's mask
   * workers) instead of here, so the engine thread does not advance a batch of matchers while
   * the GPU waits. A sequence whose deferred token completed the document (or that the grammar
   * refused) then took part in one more step; it finishes after it, and the token that step
   * sampled for it is dropped: its output is what advancing here would have given.
   *
   * @param sampled one id per sampling sequence, in step order
   * @return the sequences that received a new token (finished ones included), and those that
   *     finished without one
   */
  public Outcome postprocess(ScheduledStep step, int[] sampled, long nowNanos) {
    List<Sequence> updated = new ArrayList<>();
    List<Sequence> ended = new ArrayList<>();
    // Frozen for the whole step: a step scheduled ahead counted on it (guidesAhead), and the
    // sequences finishing in this loop must not turn jump-forward on for the ones after them.
    boolean large = largeBatch();
    int k = 0;
    for (int i = 0; i < step.seqs().size(); i++) {
      Sequence seq = step.seqs().get(i);
      boolean samples = step.samples(i);
      if (seq.status == Sequence.Status.FINISHED) {
        k += samples ? 1 : 0; // ended after this step was scheduled ahead of its input token
        continue;
      }
      seq.numComputed += step.numNewTokens().get(i);
      blocks.markComputed(seq.blockTable(), seq.tokens(), seq.numComputed);
      if (!samples) {
        continue;
      }
      int token = sampled[k++];
      if (i < step.fed() && seq.numComputed != seq.length()) { // a bug: loud, but alone
        seq.errorMessage = "internal error: the sequence grew by more than its sampled token"
            + " while a step ran ahead of it";
        finish(seq, FinishReason.ERROR);
        ended.add(seq);
        continue;
      }
      if (seq.matcher() != null && !settleDeferred(seq)) {
        ended.add(seq);
        continue;
      }
      seq.append(token);
      if (seq.firstTokenNanos < 0) {
        seq.firstTokenNanos = nowNanos;
      }
      updated.add(seq);
      boolean stopToken = seq.params().stopTokenIds().contains(token)
          || (!seq.params().ignoreEos() && eosTokenIds.contains(token));
      if (seq.matcher() != null) {
        // EOS stays here even when ignored (ignoreEos): the matcher answers it differently.
        if (deferMatchers && !stopToken && !eosTokenIds.contains(token) && large) {
          seq.deferMatcher(token); // no jump-forward here, so nothing else needs the matcher now
        } else if (!guide(seq, token, large)) {
          continue;
        }
      }
      if (stopToken) {
        finish(seq, FinishReason.STOP);
      } else if (seq.numGenerated() >= seq.params().maxTokens() || seq.length() >= maxModelLen) {
        finish(seq, FinishReason.LENGTH);
      }
    }
    return new Outcome(updated, ended);
  }

  /**
   * Applies what advancing a guided sequence's matcher over its deferred token found (advancing
   * it first if the engine has not).
   *
   * @return false when the sequence finished here
   */
  private boolean settleDeferred(Sequence seq) {
    seq.advanceMatcher();
    if (seq.deferredError != null) {
      seq.errorMessage = seq.deferredError;
      finish(seq, FinishReason.ERROR);
      return false;
    }
    if (seq.deferredEnded) {
      finish(seq, FinishReason.STOP); // nothing but EOS could follow its last token
      return false;
    }
    return true;
  }

  /**
   * Advances a guided sequence's matcher over its sampled token, finishes it when the document
   * is complete and nothing may follow, and appends what the grammar forces next.
   *
   * @return false when the sequence finished here
   */
  private boolean guide(Sequence seq, int token, boolean large) {
    var m = seq.matcher();
    if (!m.acceptToken(token)) {
      seq.errorMessage = "guided decoding: token " + token + " was sampled although the mask"
          + " forbade it";
      finish(seq, FinishReason.ERROR);
      return false;
    }
    if (eosTokenIds.contains(token)) {
      return true; // a complete document ended by EOS: the caller stops it
    }
    if (m.isTerminated()) {
      finish(seq, FinishReason.STOP); // nothing but EOS could follow: no need to sample it
      return false;
    }
    if (large) {
      return true; // the mask allows only the forced tokens; they are sampled one per step
    }
    byte[] forced = m.forcedBytes();
    if (forced.length == 0) {
      return true;
    }
    int room = Math.min(seq.params().maxTokens() - seq.numGenerated(),
        maxModelLen - seq.length());
    int[] tokens = jumpForward.tokensFor(forced);
    for (int i = 0; i < tokens.length && i < room; i++) {
      if (!m.acceptToken(tokens[i])) {
        break; // the tokenization disagrees with the grammar: sample from here instead
      }
      seq.append(tokens[i]);
      jumpForwardTokens++;
    }
    if (m.isTerminated()) {
      finish(seq, FinishReason.STOP);
      return false;
    }
    return true;
  }

  /** Ends a sequence (stop string, abort, error), freeing its blocks. No-op when finished. */
  public void finish(Sequence seq, FinishReason reason) {
    if (seq.status == Sequence.Status.FINISHED) {
      return;
    }
    if (seq.status == Sequence.Status.RUNNING) {
      running.remove(seq);
      blocks.free(seq.blockTable());
    } else {
      waiting.remove(seq);
    }
    seq.status = Sequence.Status.FINISHED;
    seq.finishReason = reason;
  }

  /** Every sequence not finished, running then waiting. */
  public List<Sequence> live() {
    List<Sequence> all = new ArrayList<>(running);
    all.addAll(waiting);
    return all;
  }

  private void preempt(Sequence seq) {
    running.remove(seq);
    blocks.free(seq.blockTable());
    seq.numComputed = 0;
    seq.status = Sequence.Status.WAITING;
    waiting.addFirst(seq);
    preemptions++;
  }
}
