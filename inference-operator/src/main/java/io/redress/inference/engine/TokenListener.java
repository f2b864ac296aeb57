package io.redress.inference.engine;

/** Receives a request's tokens as they are generated (on the engine's thread: return fast). */
@FunctionalInterface
public interface TokenListener {

  /**
   * @param requestId the request
   * @param tokenId the new token
   * @param index its position among the generated tokens (0 for the first)
   */
  void onToken(String requestId, int tokenId, int index);
}
