package io.redress.job.validate;

import io.redress.job.model.Complaint;
import io.redress.job.model.RawInput;
import io.redress.schemas.ComplaintEvent;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Operator "decode-validate": raw bytes to checked events; anything else to the dead letters
 * with its reason. Never fails the job on a record.
 */
public final class DecodeFunction extends ProcessFunction<RawInput, Complaint> {

  private final int maxRecordBytes;
  private transient EventDecoder decoder;
  private transient Counter requests;
  private transient Counter rejected;

  public DecodeFunction(int maxRecordBytes) {
    this.maxRecordBytes = maxRecordBytes;
  }

  @Override
  public void open(OpenContext ctx) {
    decoder = new EventDecoder(maxRecordBytes);
    requests = getRuntimeContext().getMetricGroup().counter("requests");
    rejected = getRuntimeContext().getMetricGroup().counter("deadLetters");
  }

  @Override
  public void processElement(RawInput in, Context ctx, Collector<Complaint> out) {
    requests.inc();
    ComplaintEvent event;
    try {
      event = decoder.decode(in);
    } catch (InvalidInput why) {
      rejected.inc();
      ctx.output(DeadLetters.TAG, DeadLetters.of(in.origin, in.bytes, why));
      return;
    } catch (RuntimeException | StackOverflowError e) {
      // A decoder bug must not take the job down with it; the record says what happened.
      rejected.inc();
      ctx.output(DeadLetters.TAG, DeadLetters.of(in.origin, in.bytes, new InvalidInput(
          io.redress.schemas.Stage.decode, "undecodable", e.getClass().getSimpleName() + ": "
              + e.getMessage())));
      return;
    }
    out.collect(new Complaint(event, in.origin, in.bytes));
  }
}
