package io.redress.job;

import io.redress.job.infer.InferenceFunction;
import io.redress.job.model.Complaint;
import io.redress.job.model.Generation;
import io.redress.job.model.PromptedComplaint;
import io.redress.job.model.RawInput;
import io.redress.job.model.Rejection;
import io.redress.job.model.ScoredReply;
import io.redress.job.prompt.PromptFunction;
import io.redress.job.prompt.PromptTemplate;
import io.redress.job.reply.ReplyFunction;
import io.redress.job.report.Outcome;
import io.redress.job.report.ReportOperator;
import io.redress.job.sink.Sinks;
import io.redress.job.source.Sources;
import io.redress.job.validate.DeadLetters;
import io.redress.job.validate.DecodeFunction;
import io.redress.schemas.ComplaintReply;
import io.redress.schemas.DeadLetter;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.AsyncDataStream;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Flink job. {@link #main} is the entry point for {@code flink run}; {@link #buildPipeline}
 * wires the operators onto any environment (tests, the demo, the replay CLI):
 *
 * <pre>
 * read-kafka | read-files -> decode-validate -> build-prompt -> keyBy(conversation_id)
 *   -> inference (async) -> parse-score -> write-replies
 * every stage's rejects -> dead-letters -> write-dead-letters
 * bounded runs: replies + rejects -> outcomes -> report
 * </pre>
 *
 * Options: {@link JobConfigOptions}.
 */
public final class ComplaintJob {

  private static final Logger LOG = LoggerFactory.getLogger(ComplaintJob.class);

  private ComplaintJob() {
  }

  /** {@code flink run redress-job-flink.jar --bootstrap-servers ... --model ...}. */
  public static void main(String[] args) throws Exception {
    Configuration conf = JobOptions.toConfiguration(args);
    JobOptions options = JobOptions.from(conf);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.getConfig().setGlobalJobParameters(conf);
    buildPipeline(env, options);
    env.execute("redress " + options.mode().name().toLowerCase());
  }

  /**
   * Adds the whole job to {@code env}: streaming mode, exactly-once checkpoints at the
   * configured interval, the source of the mode, every operator named and uid'd, and the sinks.
   */
  public static void buildPipeline(StreamExecutionEnvironment env, JobOptions o) {
    LOG.info("Building the job: {}", o.describe());
    env.setRuntimeMode(RuntimeExecutionMode.STREAMING);
    env.enableCheckpointing(o.checkpointInterval().toMillis(), CheckpointingMode.EXACTLY_ONCE);
    if (o.parallelism() > 0) {
      env.setParallelism(o.parallelism());
    }

    DataStream<RawInput> raw = Sources.create(env, o);

    SingleOutputStreamOperator<Complaint> complaints = raw
        .process(new DecodeFunction(o.maxRecordBytes()))
        .name("decode-validate").uid("decode-validate");

    SingleOutputStreamOperator<PromptedComplaint> prompts = complaints
        .process(new PromptFunction(o.modelDir(), o.maxPromptTokens(), o.maxNewTokens()))
        .name("build-prompt").uid("build-prompt");

    // One conversation's events go to one subtask, hence one engine and its prefix cache.
    DataStream<PromptedComplaint> byConversation =
        prompts.keyBy(p -> p.complaint.event.getConversationId());

    DataStream<Generation> generations = AsyncDataStream.unorderedWait(byConversation,
            new InferenceFunction(o), o.inferenceTimeout().toMillis(), TimeUnit.MILLISECONDS,
            o.inferenceCapacity())
        .name("inference").uid("inference");

    SingleOutputStreamOperator<ScoredReply> scored = generations
        .process(new ReplyFunction(o.scoring(), o.cosineThreshold()))
        .name("parse-score").uid("parse-score");

    DataStream<Rejection> rejections = complaints.getSideOutput(DeadLetters.TAG)
        .union(prompts.getSideOutput(DeadLetters.TAG), scored.getSideOutput(DeadLetters.TAG));

    DataStream<ComplaintReply> replies = scored.map(s -> s.reply)
        .returns(TypeInformation.of(ComplaintReply.class))
        .name("replies").uid("replies");
    DataStream<DeadLetter> deadLetters = rejections.map(r -> r.deadLetter)
        .returns(TypeInformation.of(DeadLetter.class))
        .name("dead-letters").uid("dead-letters");
    Sinks.replies(replies, o);
    Sinks.deadLetters(deadLetters, o);

    if (o.bounded() && o.outputDir() != null) {
      DataStream<Outcome> outcomes = scored.map(Outcome::of).name("reply-outcomes")
          .uid("reply-outcomes")
          .union(rejections.map(Outcome::of).name("dead-letter-outcomes")
              .uid("dead-letter-outcomes"));
      Path model = Path.of(o.modelDir()).toAbsolutePath().normalize().getFileName();
      outcomes.transform("report", TypeInformation.of(Void.class),
              new ReportOperator(o.outputDir(), model == null ? o.modelDir() : model.toString(),
                  PromptTemplate.VERSION, o.cosineThreshold()))
          .setParallelism(1).setMaxParallelism(1).name("report").uid("report");
    }
  }
}
