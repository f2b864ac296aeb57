package io.redress.job.validate;

import io.redress.job.model.RawInput;
import io.redress.schemas.ComplaintEvent;
import io.redress.schemas.Stage;
import io.redress.schemas.Turn;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;

/**
 * Turns raw input into a checked {@link ComplaintEvent}, or says why it cannot: undecodable
 * bytes, missing or wrongly typed fields, an empty dialog, an unknown language, an oversize
 * record. Never throws anything else; one instance per operator (not thread-safe).
 */
public final class EventDecoder {

  private final int maxRecordBytes;
  private final SpecificDatumReader<ComplaintEvent> reader =
      new SpecificDatumReader<>(ComplaintEvent.class);
  private BinaryDecoder decoder;

  public EventDecoder(int maxRecordBytes) {
    this.maxRecordBytes = maxRecordBytes;
  }

  /** Decodes and checks one input. */
  public ComplaintEvent decode(RawInput in) throws InvalidInput {
    if (in.readError != null) {
      throw new InvalidInput(Stage.decode, "unreadable_file", in.readError);
    }
    byte[] b = in.bytes;
    if (b == null || b.length == 0) {
      throw new InvalidInput(Stage.decode, "empty_record", "the record is empty");
    }
    if (b.length > maxRecordBytes) {
      throw new InvalidInput(Stage.decode, "oversize_record", "the record has " + b.length
          + " bytes, more than max-record-bytes " + maxRecordBytes);
    }
    ComplaintEvent e = in.avro ? decodeAvro(b) : JsonEvents.decode(b);
    check(e);
    return e;
  }

  private ComplaintEvent decodeAvro(byte[] b) throws InvalidInput {
    String problem = AvroBinaryGuard.check(ComplaintEvent.getClassSchema(), b);
    if (problem != null) {
      throw new InvalidInput(Stage.decode, "undecodable", "not an Avro ComplaintEvent: "
          + problem);
    }
    try {
      decoder = DecoderFactory.get().binaryDecoder(b, decoder);
      return reader.read(null, decoder);
    } catch (IOException | RuntimeException e) {
      throw new InvalidInput(Stage.decode, "undecodable", "not an Avro ComplaintEvent: "
          + e.getClass().getSimpleName() + ": " + e.getMessage());
    }
  }

  /** Checks that hold for either encoding. */
  static void check(ComplaintEvent e) throws InvalidInput {
    require(e.getComplaintId(), "complaint_id");
    require(e.getConversationId(), "conversation_id");
    checkTime(e.getCreatedAt(), "created_at");
    for (Turn t : e.getTurns()) {
      checkTime(t.getTs(), "a turn's ts");
    }
    if (e.getTurns().isEmpty()) {
      throw new InvalidInput(Stage.validate, "empty_dialog", "the conversation has no turns");
    }
    boolean anyCustomerText = false;
    for (Turn t : e.getTurns()) {
      anyCustomerText |= !t.getText().isBlank();
    }
    if (!anyCustomerText) {
      throw new InvalidInput(Stage.validate, "empty_dialog", "every turn of the conversation"
          + " is blank");
    }
  }

  /** Earliest plausible timestamp: older ones are corrupted or defaulted fields. */
  static final java.time.Instant EARLIEST = java.time.Instant.parse("2000-01-01T00:00:00Z");

  /** Timestamps from before 2000 or more than a day ahead of this clock are not events. */
  private static void checkTime(java.time.Instant t, String field) throws InvalidInput {
    java.time.Instant latest = java.time.Instant.now().plus(java.time.Duration.ofDays(1));
    if (t == null || t.isBefore(EARLIEST) || t.isAfter(latest)) {
      throw new InvalidInput(Stage.validate, "bad_timestamp", field + " " + t + " is outside "
          + EARLIEST + " .. now + 1 day: fix the producer's clock or the field's unit"
          + " (milliseconds since the epoch)");
    }
  }

  private static void require(String s, String field) throws InvalidInput {
    if (s == null || s.isBlank()) {
      throw new InvalidInput(Stage.validate, "missing_field", "field " + field + " is empty");
    }
  }

  /** Avro binary of an event (the topic's default encoding). */
  public static byte[] toAvro(ComplaintEvent e) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream(256);
      BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
      new SpecificDatumWriter<>(ComplaintEvent.class).write(e, enc);
      enc.flush();
      return out.toByteArray();
    } catch (IOException ex) {
      throw new IllegalStateException(ex);
    }
  }
}
