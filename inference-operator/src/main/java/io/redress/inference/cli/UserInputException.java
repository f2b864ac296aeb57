package io.redress.inference.cli;

/** Input the user gave that cannot be used; the message says which and how to fix it. */
final class UserInputException extends RuntimeException {

  UserInputException(String message) {
    super(message);
  }
}
