package io.redress.job.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Operator "report" (parallelism 1): counts every outcome of a bounded run in checkpointed
 * state, so restarts neither lose nor double-count, writes {@code progress.json} about once a
 * second, and at the end of input writes {@code report.json} and {@code report.html}.
 */
public final class ReportOperator extends AbstractStreamOperator<Void>
    implements OneInputStreamOperator<Outcome, Void>, BoundedOneInput {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final String outputDir;
  private final String model;
  private final String promptVersion;
  private final double threshold;
  private transient ReportStats stats;
  private transient ListState<byte[]> state;
  private transient long lastProgressMs;

  public ReportOperator(String outputDir, String model, String promptVersion, double threshold) {
    this.outputDir = outputDir;
    this.model = model;
    this.promptVersion = promptVersion;
    this.threshold = threshold;
  }

  @Override
  public void initializeState(StateInitializationContext context) throws Exception {
    super.initializeState(context);
    state = context.getOperatorStateStore().getListState(new ListStateDescriptor<>(
        "report-stats", PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
    stats = new ReportStats();
    for (byte[] b : state.get()) {
      stats = JSON.readValue(b, ReportStats.class);
    }
  }

  @Override
  public void snapshotState(StateSnapshotContext context) throws Exception {
    super.snapshotState(context);
    state.update(java.util.List.of(JSON.writeValueAsBytes(stats)));
  }

  @Override
  public void processElement(StreamRecord<Outcome> element) {
    long now = System.currentTimeMillis();
    stats.add(element.getValue(), now);
    if (now - lastProgressMs >= 1000) {
      lastProgressMs = now;
      writeProgress(false);
    }
  }

  @Override
  public void endInput() {
    ObjectNode report = Report.of(stats, model, promptVersion, threshold);
    write("report.json", report.toPrettyString());
    write("report.html", ReportHtml.render(report));
    writeProgress(true);
  }

  private void writeProgress(boolean done) {
    ObjectNode p = JSON.createObjectNode();
    p.put("inputs", stats.total.inputs);
    p.put("replies", stats.total.replies);
    p.put("dead_letters", stats.total.deadLetters);
    p.put("done", done);
    write("progress.json", p.toString());
  }

  /** Writes atomically (a reader never sees half a file). */
  private void write(String name, String text) {
    try {
      Path dir = Path.of(outputDir);
      Files.createDirectories(dir);
      Path tmp = dir.resolve("." + name + ".tmp");
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      Files.move(tmp, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING,
          StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + name + " in " + outputDir, e);
    }
  }
}
