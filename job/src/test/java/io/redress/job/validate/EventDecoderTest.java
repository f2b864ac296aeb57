package io.redress.job.validate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.redress.job.cli.SampleComplaints;
import io.redress.job.model.Origin;
import io.redress.job.model.RawInput;
import io.redress.schemas.ComplaintEvent;
import io.redress.schemas.Stage;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

class EventDecoderTest {

  private final EventDecoder decoder = new EventDecoder(1 << 20);
  private final ComplaintEvent sample = SampleComplaints.generate(1, 7).get(0);

  private RawInput json(String s) {
    return new RawInput(s.getBytes(StandardCharsets.UTF_8), Origin.file("f", 1), false);
  }

  @Test
  void jsonAndAvroRoundTrip() throws Exception {
    byte[] line = JsonEvents.encodeBytes(sample);
    assertThat(decoder.decode(new RawInput(line, null, false))).isEqualTo(sample);
    assertThat(decoder.decode(new RawInput(EventDecoder.toAvro(sample), null, true)))
        .isEqualTo(sample);
  }

  @Test
  void unknownFieldsAreIgnored() throws Exception {
    String s = JsonEvents.encode(sample).put("extra", 42).toString();
    assertThat(decoder.decode(json(s)).getComplaintId()).isEqualTo(sample.getComplaintId());
  }

  @Test
  void badJsonNamesTheProblem() {
    assertCode("{not json", Stage.decode, "undecodable");
    assertCode("[1,2]", Stage.decode, "undecodable");
    assertCode(JsonEvents.encode(sample).without("conversation_id").toString(), Stage.validate,
        "missing_field");
    assertCode(JsonEvents.encode(sample).put("channel", 5).toString(), Stage.validate,
        "wrong_type");
    assertCode(JsonEvents.encode(sample).put("language", "fr").toString(), Stage.validate,
        "unknown_language");
    assertCode(JsonEvents.encode(sample).put("created_at", "yesterday").toString(),
        Stage.validate, "wrong_type");
    assertCode(JsonEvents.encode(sample).put("created_at", "1970-01-01T00:00:00Z").toString(),
        Stage.validate, "bad_timestamp");
    assertCode(JsonEvents.encode(sample).put("created_at", "2999-01-01T00:00:00Z").toString(),
        Stage.validate, "bad_timestamp");
    var early = JsonEvents.encode(sample);
    ((com.fasterxml.jackson.databind.node.ObjectNode) early.withArray("turns").get(0))
        .put("ts", "1999-12-31T23:59:59Z");
    assertCode(early.toString(), Stage.validate, "bad_timestamp");
    var empty = JsonEvents.encode(sample);
    empty.putArray("turns");
    assertCode(empty.toString(), Stage.validate, "empty_dialog");
    assertCode("", Stage.decode, "empty_record");
  }

  @Test
  void invalidUtf8IsUndecodable() {
    byte[] b = JsonEvents.encodeBytes(sample);
    b[20] = (byte) 0xC3;
    b[21] = (byte) 0x28; // not a continuation byte
    assertThatThrownBy(() -> decoder.decode(new RawInput(b, null, false)))
        .isInstanceOf(InvalidInput.class);
  }

  @Test
  void fuzzedAvroNeverEscapesAsAnythingButInvalidInput() {
    Random rnd = new Random(1);
    byte[] good = EventDecoder.toAvro(sample);
    for (int i = 0; i < 20_000; i++) {
      byte[] b;
      if (i % 2 == 0) {
        b = new byte[rnd.nextInt(64)];
        rnd.nextBytes(b);
      } else {
        b = good.clone();
        for (int k = 0; k < 1 + rnd.nextInt(4); k++) {
          b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
        }
      }
      try {
        decoder.decode(new RawInput(b, null, true));
      } catch (InvalidInput expected) {
        assertThat(expected.code()).isNotBlank();
      }
    }
  }

  @Test
  void oversizeRecordsAreRejectedUndecoded() {
    EventDecoder small = new EventDecoder(10);
    assertThatThrownBy(() -> small.decode(json("{\"complaint_id\": \"x\"}")))
        .isInstanceOfSatisfying(InvalidInput.class,
            e -> assertThat(e.code()).isEqualTo("oversize_record"));
  }

  private void assertCode(String json, Stage stage, String code) {
    assertThatThrownBy(() -> decoder.decode(json(json)))
        .isInstanceOfSatisfying(InvalidInput.class, e -> {
          assertThat(e.stage()).isEqualTo(stage);
          assertThat(e.code()).isEqualTo(code);
        });
  }
}
