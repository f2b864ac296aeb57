package io.redress.job.source;

import io.redress.job.model.RawInput;
import io.redress.job.validate.EventDecoder;
import io.redress.schemas.ComplaintEvent;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import org.apache.avro.file.DataFileStream;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.file.src.reader.SimpleStreamFormat;
import org.apache.flink.connector.file.src.reader.StreamFormat;
import org.apache.flink.core.fs.FSDataInputStream;

/**
 * One historical log file, record by record: an Avro container file of ComplaintEvent
 * (recognised by its magic bytes; each record re-encoded as Avro binary) or JSON Lines (each
 * line's raw bytes, undecoded, so a bad line reaches the dead letters exactly as written).
 * Not splittable; {@link LogFileFormat} adds the file name and record number.
 */
final class LogStreamFormat extends SimpleStreamFormat<RawInput> {

  private static final byte[] AVRO_MAGIC = {'O', 'b', 'j', 1};

  @Override
  public StreamFormat.Reader<RawInput> createReader(Configuration config,
      FSDataInputStream stream) throws IOException {
    BufferedInputStream in = new BufferedInputStream(stream, 1 << 16);
    in.mark(4);
    byte[] head = in.readNBytes(4);
    in.reset();
    if (java.util.Arrays.equals(head, AVRO_MAGIC)) {
      return new AvroReader(in);
    }
    return new LineReader(in);
  }

  @Override
  public TypeInformation<RawInput> getProducedType() {
    return TypeInformation.of(RawInput.class);
  }

  /** JSON Lines: bytes up to each '\n' (a trailing '\r' dropped); no record after a final '\n'. */
  static final class LineReader implements StreamFormat.Reader<RawInput> {
    private final InputStream in;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream(1024);

    LineReader(InputStream in) {
      this.in = in;
    }

    @Override
    public RawInput read() throws IOException {
      line.reset();
      int b;
      boolean any = false;
      while ((b = in.read()) >= 0) {
        any = true;
        if (b == '\n') {
          break;
        }
        line.write(b);
      }
      if (!any) {
        return null;
      }
      byte[] bytes = line.toByteArray();
      int n = bytes.length;
      if (n > 0 && bytes[n - 1] == '\r') {
        bytes = java.util.Arrays.copyOf(bytes, n - 1);
      }
      return new RawInput(bytes, null, false);
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }

  /**
   * Avro container file. A corrupt block ends the file with one record carrying the read error:
   * what follows it cannot be located.
   */
  static final class AvroReader implements StreamFormat.Reader<RawInput> {
    private final InputStream in;
    private DataFileStream<ComplaintEvent> records;
    private boolean done;

    AvroReader(InputStream in) {
      this.in = in;
    }

    @Override
    public RawInput read() {
      if (done) {
        return null;
      }
      try {
        if (records == null) {
          records = new DataFileStream<>(in, new SpecificDatumReader<>(ComplaintEvent.class));
        }
        if (!records.hasNext()) {
          done = true;
          return null;
        }
        return new RawInput(EventDecoder.toAvro(records.next()), null, true);
      } catch (IOException | RuntimeException e) {
        done = true;
        RawInput bad = new RawInput(new byte[0], null, true);
        bad.readError = "unreadable Avro file: " + e.getClass().getSimpleName() + ": "
            + e.getMessage() + " (the rest of the file is skipped)";
        return bad;
      }
    }

    @Override
    public void close() throws IOException {
      if (records != null) {
        records.close();
      } else {
        in.close();
      }
    }
  }
}
