package io.redress.job.report;

import io.redress.job.model.Rejection;
import io.redress.job.model.ScoredReply;
import io.redress.schemas.ComplaintReply;

/** What happened to one input, as the replay report counts it. A Flink POJO. */
public class Outcome {
  public boolean reply;
  /** Dead letter stage and error code (null for a reply). */
  public String stage;
  public String errorCode;
  public String language;
  public String referenceCategory;
  /** The reply's category (null for a dead letter). */
  public String category;
  public Double cosine;
  public Boolean correct;
  /** 0 when the input never reached the engine. */
  public long latencyMs;
  public int promptTokens;
  public int cachedTokens;
  public int completionTokens;

  public Outcome() {
  }

  public static Outcome of(ScoredReply s) {
    ComplaintReply r = s.reply;
    Outcome o = new Outcome();
    o.reply = true;
    o.language = s.language;
    o.referenceCategory = s.referenceCategory;
    o.category = r.getReply().getCategory();
    o.cosine = r.getCosine();
    o.correct = r.getCorrect();
    o.latencyMs = r.getLatencyMs();
    o.promptTokens = r.getPromptTokens();
    o.cachedTokens = r.getCachedTokens();
    o.completionTokens = r.getCompletionTokens();
    return o;
  }

  public static Outcome of(Rejection j) {
    Outcome o = new Outcome();
    o.stage = j.deadLetter.getStage().name();
    o.errorCode = j.deadLetter.getErrorCode();
    o.language = j.language;
    o.referenceCategory = j.referenceCategory;
    o.latencyMs = j.latencyMs;
    o.promptTokens = j.promptTokens;
    o.cachedTokens = j.cachedTokens;
    o.completionTokens = j.completionTokens;
    return o;
  }
}
