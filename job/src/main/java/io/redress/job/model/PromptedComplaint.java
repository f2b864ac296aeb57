package io.redress.job.model;

/** A complaint with its rendered and tokenized prompt, ready for the engine. */
public class PromptedComplaint {
  public Complaint complaint;
  /** Prompt token ids (chat template applied). */
  public int[] promptTokens;
  /** Version of the prompt template that produced them. */
  public String promptVersion;

  public PromptedComplaint() {
  }

  public PromptedComplaint(Complaint complaint, int[] promptTokens, String promptVersion) {
    this.complaint = complaint;
    this.promptTokens = promptTokens;
    this.promptVersion = promptVersion;
  }
}
