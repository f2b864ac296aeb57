package io.redress.job.cli;

import io.redress.job.JobConfigOptions;
import io.redress.job.model.Origin;
import io.redress.job.model.RawInput;
import io.redress.job.validate.EventDecoder;
import io.redress.job.validate.InvalidInput;
import io.redress.schemas.ComplaintEvent;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A JSON Lines file of complaints for the local commands (demo, publish, prompts): every line
 * decoded and checked exactly as the job's decode-validate stage does, and a bad line stops the
 * command with its file and line number, since these files are inputs a person prepared.
 */
final class ComplaintLines {

  /** One decoded line: its number (1-based), its bytes and the event. */
  record Line(long number, byte[] bytes, ComplaintEvent event) {}

  /** What to do with each line. */
  interface Sink {
    void accept(Line line) throws IOException;
  }

  private ComplaintLines() {}

  /**
   * Hands each non-blank line to {@code sink}, in order; returns how many there were.
   *
   * @throws IllegalArgumentException naming the file and line of the first bad one
   */
  static long forEach(Path file, Sink sink) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(file + " is not a file");
    }
    EventDecoder decoder = new EventDecoder(JobConfigOptions.MAX_RECORD_BYTES.defaultValue());
    long line = 0;
    long events = 0;
    try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      for (String s = r.readLine(); s != null; s = r.readLine()) {
        line++;
        if (s.isBlank()) {
          continue;
        }
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        ComplaintEvent event;
        try {
          event = decoder.decode(new RawInput(bytes, Origin.file(file.toString(), line), false));
        } catch (InvalidInput e) {
          throw new IllegalArgumentException(file + " line " + line + ": " + e.getMessage()
              + " (" + e.code() + ")");
        }
        sink.accept(new Line(line, bytes, event));
        events++;
      }
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException(file + " line " + (line + 1) + ": not UTF-8 text");
    }
    return events;
  }

  /** The first {@code limit} events of the file (all when limit <= 0). */
  static List<ComplaintEvent> read(Path file, int limit) throws IOException {
    List<ComplaintEvent> events = new ArrayList<>();
    forEach(file, l -> {
      if (limit <= 0 || events.size() < limit) {
        events.add(l.event());
      }
    });
    return events;
  }
}
