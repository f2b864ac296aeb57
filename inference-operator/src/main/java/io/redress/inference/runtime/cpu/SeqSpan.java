package io.redress.inference.runtime.cpu;

/**
 * One sequence's part of a forward step: {@code numTokens} new tokens starting at row
 * {@code tokenOffset} of the step's token block, at positions {@code startPos ...}.
 *
 * @param tokenOffset first row of this sequence in the step's flattened tokens
 * @param numTokens new tokens (a prefill chunk, or 1 when decoding)
 * @param startPos position of the first new token (= tokens already in the cache)
 * @param slots the cache slot of every position {@code [0, startPos + numTokens)}
 */
record SeqSpan(int tokenOffset, int numTokens, int startPos, int[] slots) {

  SeqSpan {
    if (numTokens <= 0 || startPos < 0 || slots.length < startPos + numTokens) {
      throw new IllegalArgumentException("bad span: offset " + tokenOffset + ", tokens "
          + numTokens + ", start " + startPos + ", slots " + slots.length);
    }
  }

  int contextLen() {
    return startPos + numTokens;
  }
}
