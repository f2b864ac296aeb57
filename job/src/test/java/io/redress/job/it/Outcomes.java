package io.redress.job.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.job.validate.EventDecoder;
import io.redress.schemas.ComplaintEvent;
import io.redress.schemas.ComplaintReply;
import io.redress.schemas.DeadLetter;
import io.redress.schemas.Stage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificDatumReader;

/**
 * Test input with malformed records mixed in, and the check that the job's output accounts for
 * exactly a given set of inputs, each exactly once, each outcome matching its input.
 */
final class Outcomes {

  private Outcomes() {
  }

  /** Whether input {@code i} of {@link #values} is malformed. */
  static boolean malformed(int i, int badEvery) {
    return i % badEvery == badEvery - 1;
  }

  /**
   * Avro-encoded events, except every {@code badEvery}-th (index badEvery-1, 2*badEvery-1, ...)
   * which is malformed: random bytes, a truncated Avro record or JSON text, in turn. The same
   * arguments give the same bytes.
   */
  static List<byte[]> values(List<ComplaintEvent> events, int badEvery, long seed) {
    Random rnd = new Random(seed);
    List<byte[]> out = new ArrayList<>();
    for (int i = 0; i < events.size(); i++) {
      byte[] avro = EventDecoder.toAvro(events.get(i));
      if (!malformed(i, badEvery)) {
        out.add(avro);
        continue;
      }
      out.add(switch ((i / badEvery) % 3) {
        case 0 -> {
          byte[] b = new byte[1 + rnd.nextInt(120)];
          rnd.nextBytes(b);
          yield b;
        }
        case 1 -> Arrays.copyOf(avro, avro.length / 2);
        default -> ("{\"complaint_id\": \"" + events.get(i).getComplaintId() + "\"")
            .getBytes(StandardCharsets.UTF_8);
      });
    }
    return out;
  }

  /**
   * The output holds exactly one outcome (reply or dead letter) for each of {@code expected}
   * and nothing else; a reply answers the complaint produced at its source offset, a dead
   * letter carries that input's bytes, and malformed inputs (those that do not decode as a
   * ComplaintEvent) are rejected by decode/validate, well-formed ones only later.
   */
  static void assertEachExactlyOnce(KafkaTopics.Output out, String inputTopic,
      Collection<KafkaTopics.Produced> expected) {
    Map<String, KafkaTopics.Produced> bySource = new TreeMap<>();
    for (KafkaTopics.Produced p : expected) {
      bySource.put(p.source(), p);
    }
    Map<String, Integer> counts = out.countsBySource();
    Map<String, Integer> duplicates = new HashMap<>();
    counts.forEach((k, n) -> {
      if (n != 1) {
        duplicates.put(k, n);
      }
    });
    assertThat(duplicates).as("inputs with more than one outcome").isEmpty();
    assertThat(counts.keySet()).as("inputs with an outcome")
        .containsExactlyInAnyOrderElementsOf(bySource.keySet());
    assertThat(out.total()).isEqualTo(expected.size());

    for (ComplaintReply r : out.replies()) {
      assertThat(r.getSourceTopic()).isEqualTo(inputTopic);
      ComplaintEvent e = decodeEvent(bySource.get(r.getSourcePartition() + "@"
          + r.getSourceOffset()).value());
      assertThat(e).as("a reply at %s@%s answers a well-formed input", r.getSourcePartition(),
          r.getSourceOffset()).isNotNull();
      assertThat(r.getComplaintId()).isEqualTo(e.getComplaintId());
    }
    for (DeadLetter d : out.deadLetters()) {
      assertThat(d.getSourceTopic()).isEqualTo(inputTopic);
      byte[] in = bySource.get(d.getSourcePartition() + "@" + d.getSourceOffset()).value();
      assertThat(KafkaTopics.raw(d)).as("raw bytes of the dead letter at %s@%s",
          d.getSourcePartition(), d.getSourceOffset()).isEqualTo(in);
      assertThat(d.getErrorCode()).isNotBlank();
      boolean early = d.getStage() == Stage.decode || d.getStage() == Stage.validate;
      assertThat(early).as("stage %s (%s) of the dead letter at %s@%s", d.getStage(),
          d.getErrorCode(), d.getSourcePartition(), d.getSourceOffset())
          .isEqualTo(decodeEvent(in) == null);
    }
  }

  /** The ids of the complaints among {@code produced} (malformed inputs have none). */
  static List<String> complaintIds(Collection<KafkaTopics.Produced> produced) {
    return produced.stream().map(p -> decodeEvent(p.value())).filter(e -> e != null)
        .map(ComplaintEvent::getComplaintId).sorted().toList();
  }

  /** The ids answered in the output: replies' complaint_id, and those of well-formed letters. */
  static List<String> answeredIds(KafkaTopics.Output out) {
    List<String> ids = new ArrayList<>();
    out.replies().forEach(r -> ids.add(r.getComplaintId()));
    for (DeadLetter d : out.deadLetters()) {
      ComplaintEvent e = decodeEvent(KafkaTopics.raw(d));
      if (e != null) {
        ids.add(e.getComplaintId());
      }
    }
    return ids.stream().sorted().toList();
  }

  /** The event the bytes hold (whole, nothing left over), or null. */
  static ComplaintEvent decodeEvent(byte[] b) {
    try {
      BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(b, null);
      ComplaintEvent e = new SpecificDatumReader<>(ComplaintEvent.class).read(null, decoder);
      return decoder.isEnd() && e.getComplaintId() != null ? e : null;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}
