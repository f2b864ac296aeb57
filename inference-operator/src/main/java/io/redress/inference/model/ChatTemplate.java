package io.redress.inference.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * ChatML prompt rendering, as the Qwen2.5-Instruct chat template renders it without tools:
 * {@code <|im_start|>{role}\n{content}<|im_end|>\n} per message, then
 * {@code <|im_start|>assistant\n} when a generation prompt is asked for.
 *
 * <p>We render in Java rather than run the Jinja template because the tool-free path is this
 * simple, and the golden test ({@code ChatTemplateReferenceTest}) holds it to transformers'
 * {@code apply_chat_template} over the verbatim template in {@code tools/qwen25_chat_template.jinja}.
 */
public final class ChatTemplate {

  /** What Qwen2.5-Instruct's template inserts when the conversation has no system turn. */
  public static final String QWEN25_DEFAULT_SYSTEM =
      "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

  private static final String QWEN25_MARKER = "You are Qwen, created by Alibaba Cloud";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String defaultSystem; // null: no turn is inserted

  private ChatTemplate(String defaultSystem) {
    this.defaultSystem = defaultSystem;
  }

  /** Qwen2.5-Instruct's template: a default system turn when the first turn is not system. */
  public static ChatTemplate qwen25() {
    return new ChatTemplate(QWEN25_DEFAULT_SYSTEM);
  }

  /** Plain ChatML: the turns as given, nothing inserted. */
  public static ChatTemplate chatml() {
    return new ChatTemplate(null);
  }

  /**
   * The template a model directory asks for: {@link #qwen25()} when its
   * {@code tokenizer_config.json} has Qwen2.5's chat template, {@link #chatml()} otherwise (also
   * when the file or its {@code chat_template} is absent).
   *
   * @throws ModelLoadException when tokenizer_config.json exists but cannot be read as JSON
   */
  public static ChatTemplate forModel(Path modelDir) {
    Path config = modelDir.resolve("tokenizer_config.json");
    if (!Files.isRegularFile(config)) {
      return chatml();
    }
    JsonNode root;
    try {
      root = JSON.readTree(config.toFile());
    } catch (IOException e) {
      throw new ModelLoadException(
          "Cannot read "
              + config
              + " as JSON ("
              + e.getMessage()
              + "). Download the model's tokenizer_config.json again, or delete it to use plain"
              + " ChatML.",
          e);
    }
    // chat_template is a string, or (newer files) a list of {name, template}.
    JsonNode template = root == null ? null : root.get("chat_template");
    boolean qwen25 = template != null && template.toString().contains(QWEN25_MARKER);
    return qwen25 ? qwen25() : chatml();
  }

  /** The system turn inserted when the conversation starts without one, if any. */
  public Optional<String> defaultSystemPrompt() {
    return Optional.ofNullable(defaultSystem);
  }

  /**
   * Renders a conversation.
   *
   * @param messages the turns, at least one
   * @param addGenerationPrompt whether to open an assistant turn for the model to write
   * @return the prompt text, with special tokens written as text (encode turns them into ids)
   */
  public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
    Objects.requireNonNull(messages, "messages");
    if (messages.isEmpty()) {
      // HF's Qwen2.5 template fails on messages[0] as well; an empty prompt is a caller bug.
      throw new IllegalArgumentException("a chat needs at least one message");
    }
    StringBuilder out = new StringBuilder();
    if (defaultSystem != null && !messages.get(0).role().equals("system")) {
      appendTurn(out, "system", defaultSystem);
    }
    for (ChatMessage m : messages) {
      appendTurn(out, m.role(), m.content());
    }
    if (addGenerationPrompt) {
      out.append("<|im_start|>assistant\n");
    }
    return out.toString();
  }

  @Override
  public String toString() {
    return defaultSystem == null ? "ChatTemplate[chatml]" : "ChatTemplate[qwen25]";
  }

  private static void appendTurn(StringBuilder out, String role, String content) {
    out.append("<|im_start|>").append(role).append('\n').append(content).append("<|im_end|>\n");
  }
}
