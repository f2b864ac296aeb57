package io.redress.job.prompt;

import io.redress.inference.model.ChatMessage;
import io.redress.inference.model.ChatTemplate;
import io.redress.schemas.ComplaintEvent;
import io.redress.schemas.ReplySchema;
import io.redress.schemas.Turn;
import java.util.List;

/**
 * The versioned prompt: a system turn (the task, the company's reply template and the output
 * fields) that is identical for every complaint, then a user turn with the dialog. The shared
 * part comes first so the engine's prefix cache keeps one copy of its KV blocks for all
 * requests; change {@link #VERSION} whenever the text changes, since replies record it.
 */
public final class PromptTemplate {

  /** Recorded in every reply as prompt_version. */
  public static final String VERSION = "complaint-reply-v1";

  static final String SYSTEM = """
      You are a customer-care assistant. Read the complaint conversation, find the customer's \
      core demands and draft the company's reply.
      Company reply template: greet the customer by their concern, apologise once, state what \
      we will do and by when, give one next step, thank them. Keep it under 120 words, polite, \
      no promises of compensation that the conversation does not support. Write the reply in \
      the conversation's language.
      Answer with one JSON object with these fields, in this order:
      category: one of %s;
      demands: 1 to 3 short phrases, most important first;
      urgency: one of %s;
      sentiment: one of %s;
      reply_text: the reply.""".formatted(
      String.join(", ", ReplySchema.CATEGORIES), String.join(", ", ReplySchema.URGENCIES),
      String.join(", ", ReplySchema.SENTIMENTS));

  private PromptTemplate() {
  }

  /** The prompt text for one complaint, rendered with the model's chat template. */
  public static String render(ChatTemplate template, ComplaintEvent e) {
    return template.render(messages(e), true);
  }

  /** The chat messages for one complaint: the shared system turn first, then the dialog. */
  public static List<ChatMessage> messages(ComplaintEvent e) {
    StringBuilder user = new StringBuilder(256);
    user.append("Language: ").append(e.getLanguage().name()).append('\n')
        .append("Channel: ").append(e.getChannel()).append('\n')
        .append("Conversation:\n");
    for (Turn t : e.getTurns()) {
      user.append(t.getRole().name().equals("customer") ? "Customer: " : "Agent: ")
          .append(t.getText().strip()).append('\n');
    }
    return List.of(ChatMessage.system(SYSTEM), ChatMessage.user(user.toString()));
  }
}
