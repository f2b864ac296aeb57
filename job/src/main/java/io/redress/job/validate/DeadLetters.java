package io.redress.job.validate;

import io.redress.job.model.Complaint;
import io.redress.job.model.Origin;
import io.redress.job.model.Rejection;
import io.redress.schemas.ComplaintEvent;
import io.redress.schemas.DeadLetter;
import io.redress.schemas.Stage;
import java.nio.ByteBuffer;
import java.time.Instant;
import org.apache.flink.util.OutputTag;

/** Builds dead letters; the side-output tag every stage writes them to. */
public final class DeadLetters {

  /** Side output of every stage that rejects input. */
  public static final OutputTag<Rejection> TAG = new OutputTag<>("dead-letters") { };

  private static final int MAX_MESSAGE = 500;

  private DeadLetters() {
  }

  /** A dead letter for raw input that never became an event. */
  public static Rejection of(Origin origin, byte[] raw, InvalidInput why) {
    return new Rejection(letter(origin, raw, why.stage(), why.code(), why.getMessage()), null,
        null, null);
  }

  /** A dead letter for a decoded complaint that a later stage rejected. */
  public static Rejection of(Complaint c, Stage stage, String code, String message) {
    ComplaintEvent e = c.event;
    return new Rejection(letter(c.origin, c.raw, stage, code, message), e.getComplaintId(),
        e.getLanguage().name(), e.getReferenceCategory());
  }

  private static DeadLetter letter(Origin o, byte[] raw, Stage stage, String code,
      String message) {
    String m = message == null ? code : message;
    if (m.length() > MAX_MESSAGE) {
      m = m.substring(0, MAX_MESSAGE) + "...";
    }
    return DeadLetter.newBuilder()
        .setSourceTopic(o == null ? null : o.topic)
        .setSourcePartition(o == null ? null : o.partition)
        .setSourceOffset(o == null ? null : o.offset)
        .setSourceFile(o == null ? null : o.file)
        .setSourceLine(o == null ? null : o.line)
        .setRaw(ByteBuffer.wrap(raw == null ? new byte[0] : raw))
        .setStage(stage)
        .setErrorCode(code)
        .setMessage(m)
        .setAt(Instant.now())
        .build();
  }
}
