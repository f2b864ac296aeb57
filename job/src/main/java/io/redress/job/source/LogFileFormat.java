package io.redress.job.source;

import io.redress.job.model.Origin;
import io.redress.job.model.RawInput;
import java.io.IOException;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.file.src.FileSourceSplit;
import org.apache.flink.connector.file.src.impl.StreamFormatAdapter;
import org.apache.flink.connector.file.src.reader.BulkFormat;
import org.apache.flink.connector.file.src.util.RecordAndPosition;

/**
 * The FileSource format of the job's log files: {@link LogStreamFormat}'s records with their
 * file and 1-based record number attached (for dead letters). The number is the position the
 * file source checkpoints (records read so far), so it stays right across restores.
 */
public final class LogFileFormat implements BulkFormat<RawInput, FileSourceSplit> {

  private final StreamFormatAdapter<RawInput> inner =
      new StreamFormatAdapter<>(new LogStreamFormat());

  @Override
  public Reader<RawInput> createReader(Configuration config, FileSourceSplit split)
      throws IOException {
    return wrap(inner.createReader(config, split), split);
  }

  @Override
  public Reader<RawInput> restoreReader(Configuration config, FileSourceSplit split)
      throws IOException {
    return wrap(inner.restoreReader(config, split), split);
  }

  @Override
  public boolean isSplittable() {
    return false;
  }

  @Override
  public TypeInformation<RawInput> getProducedType() {
    return TypeInformation.of(RawInput.class);
  }

  private static Reader<RawInput> wrap(Reader<RawInput> reader, FileSourceSplit split) {
    String file = split.path().toString();
    return new Reader<>() {
      @Override
      public RecordIterator<RawInput> readBatch() throws IOException {
        RecordIterator<RawInput> batch = reader.readBatch();
        if (batch == null) {
          return null;
        }
        return new RecordIterator<>() {
          @Override
          public RecordAndPosition<RawInput> next() {
            RecordAndPosition<RawInput> rp = batch.next();
            if (rp == null) {
              return null;
            }
            RawInput r = rp.getRecord();
            r.origin = Origin.file(file, rp.getRecordSkipCount());
            return new RecordAndPosition<>(r, rp.getOffset(), rp.getRecordSkipCount());
          }

          @Override
          public void releaseBatch() {
            batch.releaseBatch();
          }
        };
      }

      @Override
      public void close() throws IOException {
        reader.close();
      }
    };
  }
}
