package io.redress.job.reply;

import io.redress.job.model.Generation;
import io.redress.job.model.ScoredReply;
import io.redress.job.score.Scorer;
import io.redress.job.validate.DeadLetters;
import io.redress.job.validate.InvalidInput;
import io.redress.schemas.ComplaintEvent;
import io.redress.schemas.ComplaintReply;
import io.redress.schemas.Reply;
import io.redress.schemas.Stage;
import java.time.Instant;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Operator "parse-score": the generated text parsed and checked against reply.schema.json, then,
 * when the event carries a human reference reply, scored by cosine similarity. A failed
 * generation, an unparsable or invalid reply, or a scoring error becomes a dead letter.
 */
public final class ReplyFunction extends ProcessFunction<Generation, ScoredReply> {

  private final boolean scoring;
  private final double threshold;
  private transient ReplyParser parser;
  private transient Scorer scorer;
  private transient Counter replies;
  private transient Counter rejected;

  public ReplyFunction(boolean scoring, double threshold) {
    this.scoring = scoring;
    this.threshold = threshold;
  }

  @Override
  public void open(OpenContext ctx) {
    parser = new ReplyParser();
    scorer = scoring ? Scorer.shared() : null;
    replies = getRuntimeContext().getMetricGroup().counter("replies");
    rejected = getRuntimeContext().getMetricGroup().counter("deadLetters");
  }

  @Override
  public void processElement(Generation g, Context ctx, Collector<ScoredReply> out) {
    ComplaintEvent e = g.complaint.event;
    if (g.errorCode != null) {
      reject(ctx, g, Stage.inference, g.errorCode, g.errorMessage);
      return;
    }
    Reply reply;
    try {
      reply = parser.parse(g.text);
    } catch (InvalidInput why) {
      reject(ctx, g, why.stage(), why.code(), why.getMessage());
      return;
    }
    Double cosine = null;
    Boolean correct = null;
    if (scorer != null && e.getReferenceReply() != null && !e.getReferenceReply().isBlank()) {
      try {
        cosine = scorer.cosine(e.getLanguage().name(), reply.getReplyText(),
            e.getReferenceReply());
        correct = cosine >= threshold;
      } catch (RuntimeException ex) {
        reject(ctx, g, Stage.score, "scoring_failed", ex.getMessage());
        return;
      }
    }
    ComplaintReply r = ComplaintReply.newBuilder()
        .setComplaintId(e.getComplaintId())
        .setConversationId(e.getConversationId())
        .setModel(g.model)
        .setPromptVersion(g.promptVersion)
        .setReply(reply)
        .setRawJson(g.text)
        .setCosine(cosine)
        .setCorrect(correct)
        .setLatencyMs(g.latencyMs)
        .setPromptTokens(g.promptTokens)
        .setCachedTokens(g.cachedTokens)
        .setCompletionTokens(g.completionTokens)
        .setProcessedAt(Instant.now())
        .setSourceTopic(g.complaint.origin == null ? null : g.complaint.origin.topic)
        .setSourcePartition(g.complaint.origin == null ? null : g.complaint.origin.partition)
        .setSourceOffset(g.complaint.origin == null ? null : g.complaint.origin.offset)
        .build();
    replies.inc();
    out.collect(new ScoredReply(r, e.getLanguage().name(), e.getReferenceCategory()));
  }

  private void reject(Context ctx, Generation g, Stage stage, String code, String message) {
    rejected.inc();
    var rejection = DeadLetters.of(g.complaint, stage, code, message);
    rejection.latencyMs = g.latencyMs;
    rejection.promptTokens = g.promptTokens;
    rejection.cachedTokens = g.cachedTokens;
    rejection.completionTokens = g.completionTokens;
    ctx.output(DeadLetters.TAG, rejection);
  }
}
