package io.redress.inference.model;

/**
 * A model directory, weight file or tokenizer that cannot be used as given. The message names
 * the file (and tensor) and says what to do; CLIs print it as is, without a stack trace.
 */
public class ModelLoadException extends RuntimeException {

  public ModelLoadException(String message) {
    super(message);
  }

  public ModelLoadException(String message, Throwable cause) {
    super(message, cause);
  }
}
