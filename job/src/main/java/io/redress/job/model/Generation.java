package io.redress.job.model;

/**
 * What the engine made of a prompt: the generated text and counters, or an error (then
 * {@link #errorCode} is set and the complaint goes to the dead letters).
 */
public class Generation {
  public Complaint complaint;
  public String promptVersion;
  public String model;
  public String text;
  /** "stop", "length", "abort" or "error". */
  public String finishReason;
  /** Non-null when generation failed: "engine_error", "inference_timeout", "aborted". */
  public String errorCode;
  public String errorMessage;
  public int promptTokens;
  public int cachedTokens;
  public int completionTokens;
  public long latencyMs;

  public Generation() {
  }
}
