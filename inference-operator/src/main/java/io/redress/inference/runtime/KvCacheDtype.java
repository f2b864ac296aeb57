package io.redress.inference.runtime;

import java.util.Locale;

/**
 * How the paged KV cache stores keys and values. {@link #FP8} (e4m3) holds each K and V row of a
 * token as bytes with one fp16 scale per KV head: about 1.9x the tokens of bf16 in the same
 * memory, for the CUDA runner.
 */
public enum KvCacheDtype {
  /** The model's activation type: bf16 on the GPU (the CPU runner keeps fp32). */
  AUTO,
  /** e4m3 with a scale per (token, KV head) row, amax / 448: no calibration needed. */
  FP8;

  /** Parses "auto", "bf16", "fp8" or "fp8_e4m3" (any case). */
  public static KvCacheDtype parse(String s) {
    switch (s.toLowerCase(Locale.ROOT)) {
      case "auto":
      case "bf16":
        return AUTO;
      case "fp8":
      case "fp8_e4m3":
        return FP8;
      default:
        throw new IllegalArgumentException("unknown --kv-cache-dtype '" + s + "': use auto (bf16)"
            + " or fp8 (e4m3)");
    }
  }

  /** The name the CLI flags take. */
  public String flag() {
    return this == AUTO ? "auto" : "fp8";
  }
}
