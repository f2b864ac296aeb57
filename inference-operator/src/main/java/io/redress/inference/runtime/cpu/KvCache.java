package io.redress.inference.runtime.cpu;

import io.redress.inference.model.ModelConfig;

/**
 * Keys and values for a pool of token slots, per layer. A slot holds one token's K and V for
 * all KV heads; which slot a sequence position uses is the caller's business (a slot mapping),
 * the same addressing a paged GPU cache uses: slot = block * blockSize + offset.
 */
final class KvCache {

  final int numSlots;
  final int kvSize; // numKvHeads * headDim
  final float[][] keys; // (layer) -> (slot, kvHead, headDim)
  final float[][] values;

  KvCache(ModelConfig config, int numSlots) {
    this.numSlots = numSlots;
    this.kvSize = config.kvSize();
    this.keys = new float[config.numLayers()][(int) checkedSize(numSlots, kvSize)];
    this.values = new float[config.numLayers()][(int) checkedSize(numSlots, kvSize)];
  }

  private static long checkedSize(int slots, int width) {
    long n = (long) slots * width;
    if (n > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("KV cache of " + slots + " slots is too large for"
          + " the CPU runner; lower the number of slots");
    }
    return n;
  }
}
