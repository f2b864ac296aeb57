package io.redress.inference.model;

import java.util.Optional;

/** Element types of safetensors tensors, with their safetensors names and byte sizes. */
public enum DType {
  BF16("BF16", 2),
  F16("F16", 2),
  F32("F32", 4),
  /** Packed GPTQ weights and zero points. */
  I32("I32", 4),
  I64("I64", 8),
  U8("U8", 1),
  I8("I8", 1);

  private final String safetensorsName;
  private final int bytes;

  DType(String safetensorsName, int bytes) {
    this.safetensorsName = safetensorsName;
    this.bytes = bytes;
  }

  /** Bytes per element. */
  public int bytes() {
    return bytes;
  }

  /** Whether {@link SafeTensors#floats} can convert it. */
  public boolean isFloat() {
    return this == BF16 || this == F16 || this == F32;
  }

  /** Looks up a safetensors dtype string such as "BF16". */
  public static Optional<DType> fromSafetensors(String name) {
    for (DType t : values()) {
      if (t.safetensorsName.equals(name)) {
        return Optional.of(t);
      }
    }
    return Optional.empty();
  }
}
