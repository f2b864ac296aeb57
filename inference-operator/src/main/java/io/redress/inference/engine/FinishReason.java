package io.redress.inference.engine;

/** Why a request ended. */
public enum FinishReason {
  /** An EOS token, a stop token id or a stop string. */
  STOP,
  /** maxTokens generated, or the model's maximum length reached. */
  LENGTH,
  /** Cancelled by the caller, or the engine closed first. */
  ABORT,
  /** The request could not run (e.g. prompt too long); the result's message says why. */
  ERROR;

  /** The lower-case name used in JSON output ("stop", "length", ...). */
  public String jsonName() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
