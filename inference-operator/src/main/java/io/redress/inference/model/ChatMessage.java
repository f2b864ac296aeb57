package io.redress.inference.model;

import java.util.Objects;
import java.util.Set;

/**
 * One turn of a chat, as HF chat templates take it.
 *
 * @param role {@code system}, {@code user} or {@code assistant}
 * @param content the turn's text, possibly empty; rendered verbatim (special-token text inside it
 *     is not escaped, exactly as HF's template leaves it)
 */
public record ChatMessage(String role, String content) {

  private static final Set<String> ROLES = Set.of("system", "user", "assistant");

  /** Validates the role, so a typo fails here rather than as an odd prompt. */
  public ChatMessage {
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(content, "content");
    if (!ROLES.contains(role)) {
      throw new IllegalArgumentException(
          "chat role must be system, user or assistant, not \"" + role + "\"");
    }
  }

  /** A system turn. */
  public static ChatMessage system(String content) {
    return new ChatMessage("system", content);
  }

  /** A user turn. */
  public static ChatMessage user(String content) {
    return new ChatMessage("user", content);
  }

  /** An assistant turn. */
  public static ChatMessage assistant(String content) {
    return new ChatMessage("assistant", content);
  }
}
