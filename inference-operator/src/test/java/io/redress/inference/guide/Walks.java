package io.redress.inference.guide;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Random walks through a matcher's masks, and random tokenizations of given bytes. */
final class Walks {

  /** How a walk picks among the allowed tokens. */
  enum Policy {
    /** Uniformly among all allowed tokens. */
    UNIFORM,
    /** Uniformly, but half the time among allowed tokens holding '"', ']' or '}' if any. */
    CLOSING,
    /** Uniformly, appending the forced bytes (jump-forward) whenever there are some. */
    JUMP_FORWARD
  }

  /** The bytes produced and whether the matcher reached EOS. */
  record Walk(byte[] bytes, boolean finished, int tokens) {}

  private Walks() {}

  static Walk walk(GrammarMatcher m, TokenVocabulary v, Random rnd, Policy policy, int maxTokens) {
    int[] words = new int[m.maskWords()];
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int step = 0; step < maxTokens; step++) {
      if (policy == Policy.JUMP_FORWARD) {
        byte[] forced = m.forcedBytes();
        if (forced.length > 0) {
          m.acceptBytes(forced);
          out.writeBytes(forced);
        }
      }
      m.fillNextTokenBitmask(words, 0);
      int id = policy == Policy.CLOSING && rnd.nextBoolean() ? pickClosing(words, v, rnd) : -1;
      if (id < 0) {
        id = pick(words, rnd);
      }
      if (id < 0) {
        throw new AssertionError("empty mask after " + out.toString(
            java.nio.charset.StandardCharsets.UTF_8));
      }
      if (!m.acceptToken(id)) {
        throw new AssertionError("mask allowed token " + id + " that acceptToken refused");
      }
      if (v.isEos(id)) {
        return new Walk(out.toByteArray(), true, step + 1);
      }
      out.writeBytes(v.bytes(id));
    }
    return new Walk(out.toByteArray(), false, maxTokens);
  }

  /** A uniformly random set bit, -1 if none. */
  static int pick(int[] words, Random rnd) {
    int total = 0;
    for (int w : words) {
      total += Integer.bitCount(w);
    }
    if (total == 0) {
      return -1;
    }
    int k = rnd.nextInt(total);
    for (int i = 0; i < words.length; i++) {
      int c = Integer.bitCount(words[i]);
      if (k < c) {
        int w = words[i];
        for (int j = 0; j < k; j++) {
          w &= w - 1;
        }
        return i * 32 + Integer.numberOfTrailingZeros(w);
      }
      k -= c;
    }
    throw new IllegalStateException();
  }

  private static int pickClosing(int[] words, TokenVocabulary v, Random rnd) {
    List<Integer> closing = new ArrayList<>();
    for (int i = 0; i < words.length; i++) {
      for (int w = words[i]; w != 0; w &= w - 1) {
        int id = i * 32 + Integer.numberOfTrailingZeros(w);
        if (v.isEos(id)) {
          closing.add(id);
          continue;
        }
        for (byte b : v.bytes(id)) {
          if (b == '"' || b == ']' || b == '}') {
            closing.add(id);
            break;
          }
        }
      }
    }
    return closing.isEmpty() ? -1 : closing.get(rnd.nextInt(closing.size()));
  }

  /** Every (non-special) token's bytes to its id, for random segmentations. */
  static Map<ByteBuffer, Integer> tokenIds(TokenVocabulary v) {
    Map<ByteBuffer, Integer> ids = new HashMap<>();
    for (int id = 0; id < v.modelVocabSize(); id++) {
      byte[] b = v.bytes(id);
      if (b != null) {
        ids.putIfAbsent(ByteBuffer.wrap(b), id);
      }
    }
    return ids;
  }

  /** A random segmentation of the bytes into vocabulary tokens. */
  static int[] randomTokens(byte[] bytes, Map<ByteBuffer, Integer> ids, int maxLen, Random rnd) {
    List<Integer> out = new ArrayList<>();
    int bias = rnd.nextInt(3); // 0 uniform, 1 prefer short, 2 prefer long
    for (int at = 0; at < bytes.length; ) {
      List<Integer> lengths = new ArrayList<>();
      for (int len = 1; len <= Math.min(maxLen, bytes.length - at); len++) {
        if (ids.containsKey(ByteBuffer.wrap(bytes, at, len))) {
          lengths.add(len);
        }
      }
      if (lengths.isEmpty()) {
        throw new AssertionError("no token covers byte " + at);
      }
      int len = switch (bias) {
        case 1 -> lengths.get(rnd.nextInt(Math.min(2, lengths.size())));
        case 2 -> lengths.get(lengths.size() - 1 - rnd.nextInt(Math.min(2, lengths.size())));
        default -> lengths.get(rnd.nextInt(lengths.size()));
      };
      out.add(ids.get(ByteBuffer.wrap(bytes, at, len)));
      at += len;
    }
    return out.stream().mapToInt(Integer::intValue).toArray();
  }
}
