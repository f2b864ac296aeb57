package io.redress.inference.guide;

import java.util.Objects;

/**
 * The guided-decoding state of one sequence: which tokens may come next, given the tokens so
 * far. Use from one thread at a time; the caches behind it are shared and thread-safe, so many
 * matchers may fill masks concurrently.
 *
 * <p>Per step: {@link #fillNextTokenBitmask} before sampling, {@link #acceptToken} with the
 * sampled id, and optionally {@link #forcedBytes} / {@link #acceptBytes} to jump forward over
 * bytes the schema fixes. EOS ids are allowed exactly when {@link #isComplete()}: whenever the
 * document is complete, whether or not it could also go on (a top-level number could).
 */
public final class GrammarMatcher {

  private final MaskEngine engine;
  private Stack[] state;
  private boolean ended; // an EOS token was accepted
  private MaskEngine.Entry entry; // for the current state, once asked

  GrammarMatcher(MaskEngine engine, Stack[] state) {
    this.engine = engine;
    this.state = state;
  }

  /**
   * Advances over a sampled token.
   *
   * @return false, leaving the state unchanged, when the mask did not allow the token
   */
  public boolean acceptToken(int tokenId) {
    if (ended) {
      return false;
    }
    if (engine.vocab.isEos(tokenId)) {
      if (!isComplete()) {
        return false;
      }
      ended = true;
      return true;
    }
    byte[] bytes = engine.vocab.bytes(tokenId);
    if (bytes == null) {
      return false;
    }
    Stack[] next = engine.automaton.steps(state, bytes, 0, bytes.length);
    if (next.length == 0) {
      return false;
    }
    state = next;
    entry = null;
    return true;
  }

  /**
   * Writes the allowed-token bitmask: bit {@code i & 31} of {@code words[offset + (i >> 5)]} is
   * set when token i may come next. Writes exactly {@link TokenVocabulary#maskWords()} words.
   */
  public void fillNextTokenBitmask(int[] words, int offset) {
    fillNextTokenBitmask(java.nio.IntBuffer.wrap(Objects.requireNonNull(words, "words")), offset);
  }

  /** {@link #fillNextTokenBitmask(int[], int)} into a buffer (a runner's staging memory). */
  public void fillNextTokenBitmask(java.nio.IntBuffer words, int offset) {
    Objects.requireNonNull(words, "words");
    int n = engine.maskWords();
    if (offset < 0 || offset + n > words.capacity()) {
      throw new IndexOutOfBoundsException("need " + n + " words at offset " + offset
          + ", the destination holds " + words.capacity());
    }
    if (ended) {
      for (int i = 0; i < n; i++) {
        words.put(offset + i, 0);
      }
      return;
    }
    entry().mask.fill(words, offset, n);
  }

  /** Whether a full valid document has been produced (EOS may come now). */
  public boolean isComplete() {
    return ended || entry().complete;
  }

  /** Whether the document is complete and nothing but EOS may follow (or EOS was accepted). */
  public boolean isTerminated() {
    if (ended) {
      return true;
    }
    MaskEngine.Entry e = entry();
    if (!e.complete) {
      return false;
    }
    Boolean t = e.terminated;
    if (t == null) {
      t = engine.noByteFollows(state);
      e.terminated = t;
    }
    return t;
  }

  /**
   * The longest byte string every valid continuation starts with: keys, {@code ":"}, brackets,
   * the rest of an enum value. Empty when the next byte is a real choice, when the document may
   * end here, or after EOS. Never ends inside a UTF-8 character. The engine may append these
   * bytes (tokenized as text) without sampling, then call {@link #acceptBytes}.
   */
  public byte[] forcedBytes() {
    if (ended) {
      return new byte[0];
    }
    MaskEngine.Entry e = entry();
    byte[] f = e.forced;
    if (f == null) {
      f = engine.forced(state);
      e.forced = f;
    }
    return f.clone();
  }

  /**
   * Advances over bytes appended without sampling (jump-forward text, or a prefix the caller
   * supplied).
   *
   * @throws IllegalArgumentException when the grammar does not allow the bytes here; the state
   *     is then unchanged
   */
  public void acceptBytes(byte[] bytes) {
    if (!tryAcceptBytes(bytes)) {
      throw new IllegalArgumentException("the schema does not allow these " + bytes.length
          + " bytes here");
    }
  }

  /** Like {@link #acceptBytes} but answers false instead of throwing. */
  public boolean tryAcceptBytes(byte[] bytes) {
    Objects.requireNonNull(bytes, "bytes");
    if (ended) {
      return bytes.length == 0;
    }
    Stack[] next = engine.automaton.steps(state, bytes, 0, bytes.length);
    if (next.length == 0) {
      return false;
    }
    if (bytes.length > 0) {
      state = next;
      entry = null;
    }
    return true;
  }

  /** An independent matcher in the same state (cheap: states are persistent). */
  public GrammarMatcher copy() {
    GrammarMatcher m = new GrammarMatcher(engine, state);
    m.ended = ended;
    m.entry = entry;
    return m;
  }

  /** The current mask computed without any cache (for tests of the caches). */
  void fillUncached(int[] words) {
    engine.uncachedMask(state).fill(words, 0, engine.maskWords());
  }

  /** The mask length in int32 words. */
  public int maskWords() {
    return engine.maskWords();
  }

  private MaskEngine.Entry entry() {
    MaskEngine.Entry e = entry;
    if (e == null) {
      e = engine.entry(state);
      entry = e;
    }
    return e;
  }
}
