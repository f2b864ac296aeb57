package io.redress.job.validate;

import io.redress.schemas.Stage;

/**
 * Why an input cannot become a reply: a stable error code for counting, the stage that found
 * it, and a message naming the offending field. Thrown by decoders and checks, caught by the
 * operator that turns it into a dead letter.
 */
public final class InvalidInput extends Exception {
  private final Stage stage;
  private final String code;

  public InvalidInput(Stage stage, String code, String message) {
    super(message, null, false, false);
    this.stage = stage;
    this.code = code;
  }

  public Stage stage() {
    return stage;
  }

  /** E.g. "undecodable", "missing_field", "wrong_type", "empty_dialog", "unknown_language". */
  public String code() {
    return code;
  }
}
