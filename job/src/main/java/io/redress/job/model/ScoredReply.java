package io.redress.job.model;

import io.redress.schemas.ComplaintReply;

/** A finished reply plus what the replay report needs that the reply record does not carry. */
public class ScoredReply {
  public ComplaintReply reply;
  public String language;
  public String referenceCategory;

  public ScoredReply() {
  }

  public ScoredReply(ComplaintReply reply, String language, String referenceCategory) {
    this.reply = reply;
    this.language = language;
    this.referenceCategory = referenceCategory;
  }
}
