package io.redress.inference.guide;

import io.redress.inference.model.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A model's vocabulary as guided decoding sees it: each token id's exact bytes, the byte trie
 * masks are computed over, which ids end a generation (EOS), and the mask length (the model's
 * vocabulary size, which may exceed the tokenizer's). Built once per model; immutable apart from
 * lazily built, thread-safe tables; shared by every schema and thread.
 *
 * <p>Never allowed in a mask: ids at or above the tokenizer's size (padding rows of the
 * embedding), special tokens other than the EOS ids, and tokens with no bytes. EOS ids are
 * allowed exactly when the document is complete.
 */
public final class TokenVocabulary {

  private final int modelVocabSize;
  private final byte[][] bytes; // (modelVocabSize) null: never allowed as text
  private final int[] eosIds;
  private final VocabTrie trie;
  private final int maxTokenBytes;
  private final AtomicReferenceArray<StringTokenClasses> plainStrings =
      new AtomicReferenceArray<>(64);

  private TokenVocabulary(int modelVocabSize, byte[][] bytes, int[] eosIds) {
    this.modelVocabSize = modelVocabSize;
    this.bytes = bytes;
    this.eosIds = eosIds;
    this.trie = VocabTrie.build(bytes);
    int max = 0;
    for (byte[] b : bytes) {
      max = Math.max(max, b == null ? 0 : b.length);
    }
    this.maxTokenBytes = max;
  }

  /**
   * The vocabulary of a byte-level tokenizer.
   *
   * @param tokenizer the model's tokenizer
   * @param modelVocabSize the mask length: rows of the model's embedding / logits
   * @param eosIds the ids that end a generation (for Qwen2.5 instruct: {@code <|im_end|>} and
   *     {@code <|endoftext|>}); each below {@code modelVocabSize}
   */
  public static TokenVocabulary of(Tokenizer tokenizer, int modelVocabSize, Set<Integer> eosIds) {
    Objects.requireNonNull(tokenizer, "tokenizer");
    List<byte[]> table = new ArrayList<>();
    int n = Math.min(tokenizer.vocabSize(), modelVocabSize);
    for (int id = 0; id < n; id++) {
      byte[] b;
      try {
        b = tokenizer.isSpecial(id) ? null : tokenizer.tokenBytes(id);
      } catch (IllegalArgumentException gap) {
        b = null; // an id no token has
      }
      table.add(b);
    }
    return of(table, modelVocabSize, eosIds);
  }

  /**
   * A vocabulary from token byte strings (tests, other tokenizers).
   *
   * @param tokenBytes index = token id; null for ids that must never be emitted as text
   */
  public static TokenVocabulary of(List<byte[]> tokenBytes, int modelVocabSize,
      Set<Integer> eosIds) {
    Objects.requireNonNull(tokenBytes, "tokenBytes");
    Objects.requireNonNull(eosIds, "eosIds");
    if (modelVocabSize <= 0) {
      throw new IllegalArgumentException("modelVocabSize must be positive, got "
          + modelVocabSize);
    }
    byte[][] bytes = new byte[modelVocabSize][];
    for (int id = 0; id < Math.min(tokenBytes.size(), modelVocabSize); id++) {
      byte[] b = tokenBytes.get(id);
      bytes[id] = b == null || b.length == 0 ? null : b.clone();
    }
    int[] eos = eosIds.stream().mapToInt(Integer::intValue).sorted().toArray();
    for (int id : eos) {
      if (id < 0 || id >= modelVocabSize) {
        throw new IllegalArgumentException("EOS id " + id + " is outside the model vocabulary [0, "
            + modelVocabSize + ")");
      }
      bytes[id] = null; // an EOS token ends the document; it is never text
    }
    return new TokenVocabulary(modelVocabSize, bytes, eos);
  }

  /**
   * Builds now the tables the first guided request would otherwise build (how each token
   * behaves inside a plain string: about 0.1 to 0.3 s on a 150k vocabulary); call it off the
   * request path, e.g. on a background thread when the model loads. Optional and idempotent.
   */
  public void prepare() {
    plainString(StringLexer.OPEN);
    plainString(StringLexer.NORMAL);
  }

  /** The mask length in tokens (bits); masks have {@link #maskWords()} int32 words. */
  public int modelVocabSize() {
    return modelVocabSize;
  }

  /** ceil(modelVocabSize / 32). */
  public int maskWords() {
    return (modelVocabSize + 31) >>> 5;
  }

  /** The ids that end a generation. */
  public int[] eosIds() {
    return eosIds.clone();
  }

  /** Whether the id ends a generation. */
  public boolean isEos(int id) {
    return Arrays.binarySearch(eosIds, id) >= 0;
  }

  /** The bytes of a token that may appear as text, or null (special, padding, EOS). */
  byte[] bytes(int id) {
    return id >= 0 && id < modelVocabSize ? bytes[id] : null;
  }

  /** The longest token in bytes: no token can step a matcher further than this. */
  int maxTokenBytes() {
    return maxTokenBytes;
  }

  VocabTrie trie() {
    return trie;
  }

  int[] eosIdsShared() {
    return eosIds;
  }

  /**
   * How every token behaves inside a string without a pattern, from a lexer state given as
   * {@link StringLexer#plainState}; independent of lengths (counts are applied per request).
   */
  StringTokenClasses plainString(int plainState) {
    StringTokenClasses c = plainStrings.get(plainState);
    if (c == null) {
      c = StringTokenClasses.plain(this, plainState);
      if (!plainStrings.compareAndSet(plainState, null, c)) {
        c = plainStrings.get(plainState);
      }
    }
    return c;
  }
}
