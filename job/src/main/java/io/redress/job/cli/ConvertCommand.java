package io.redress.job.cli;

import io.redress.schemas.ComplaintEvent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.apache.avro.file.CodecFactory;
import org.apache.avro.file.DataFileWriter;
import org.apache.avro.specific.SpecificDatumWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/redress convert}: complaints from JSON Lines to an Avro object container file (the
 * job's other file input format), every line checked as the job checks it. Fields the Avro
 * schema does not have (the reference fields of training data) are dropped.
 */
@Command(name = "convert", mixinStandardHelpOptions = true,
    description = "Convert complaints from JSON Lines to an Avro container file.")
final class ConvertCommand implements Callable<Integer> {

  @Option(names = "--input", required = true, description = "JSON Lines file of complaints.")
  Path input;

  @Option(names = "--out", required = true, description = "Avro file to write (.avro).")
  Path out;

  @Override
  public Integer call() throws IOException {
    // Written to a temporary file first: a bad line leaves no partial output behind.
    Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
    long n;
    try (DataFileWriter<ComplaintEvent> w = new DataFileWriter<>(
        new SpecificDatumWriter<>(ComplaintEvent.class))) {
      w.setCodec(CodecFactory.deflateCodec(6));
      w.create(ComplaintEvent.getClassSchema(), tmp.toFile());
      n = ComplaintLines.forEach(input, l -> w.append(l.event()));
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
    Files.move(tmp, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    System.err.printf("wrote %,d complaints to %s%n", n, out);
    return 0;
  }
}
