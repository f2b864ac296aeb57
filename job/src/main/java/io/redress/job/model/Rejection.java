package io.redress.job.model;

import io.redress.schemas.DeadLetter;

/** A dead letter plus what the replay report needs (null where the input never decoded). */
public class Rejection {
  public DeadLetter deadLetter;
  public String complaintId;
  public String language;
  public String referenceCategory;
  /** For a generation that was rejected afterwards (parse, score): its figures; else 0. */
  public long latencyMs;
  public int promptTokens;
  public int cachedTokens;
  public int completionTokens;

  public Rejection() {
  }

  public Rejection(DeadLetter deadLetter, String complaintId, String language,
      String referenceCategory) {
    this.deadLetter = deadLetter;
    this.complaintId = complaintId;
    this.language = language;
    this.referenceCategory = referenceCategory;
  }
}
