package io.redress.job.prompt;

import io.redress.inference.model.ChatTemplate;
import io.redress.inference.model.ModelConfig;
import io.redress.inference.model.Tokenizer;
import io.redress.job.model.Complaint;
import io.redress.job.model.PromptedComplaint;
import io.redress.job.validate.DeadLetters;
import io.redress.schemas.Stage;
import java.nio.file.Path;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Operator "build-prompt": renders the versioned prompt with the model's chat template and
 * tokenizes it here, in parallel across subtasks (the job's tokenizer pool), so the engine gets
 * token ids. Conversations whose prompt exceeds the token budget go to the dead letters.
 */
public final class PromptFunction extends ProcessFunction<Complaint, PromptedComplaint> {

  private final String modelDir;
  private final int maxPromptTokensOption;
  private final int maxNewTokens;
  private transient Tokenizer tokenizer;
  private transient ChatTemplate template;
  private transient int maxPromptTokens;
  private transient Counter rejected;

  /**
   * @param maxPromptTokens longest prompt; 0 = the model's maximum length minus maxNewTokens
   */
  public PromptFunction(String modelDir, int maxPromptTokens, int maxNewTokens) {
    this.modelDir = modelDir;
    this.maxPromptTokensOption = maxPromptTokens;
    this.maxNewTokens = maxNewTokens;
  }

  @Override
  public void open(OpenContext ctx) {
    Path dir = Path.of(modelDir);
    tokenizer = Tokenizer.load(dir);
    template = ChatTemplate.forModel(dir);
    maxPromptTokens = budget(ModelConfig.load(dir).maxPositions(), maxPromptTokensOption,
        maxNewTokens);
    rejected = getRuntimeContext().getMetricGroup().counter("deadLetters");
  }

  /** The prompt budget: the option, or the model's length minus the reply's. */
  static int budget(int modelMaxPositions, int option, int maxNewTokens) {
    int fit = modelMaxPositions - maxNewTokens;
    return option > 0 ? Math.min(option, fit) : fit;
  }

  @Override
  public void processElement(Complaint c, Context ctx, Collector<PromptedComplaint> out) {
    int[] ids;
    try {
      ids = tokenizer.encode(PromptTemplate.render(template, c.event));
    } catch (RuntimeException e) {
      rejected.inc();
      ctx.output(DeadLetters.TAG, DeadLetters.of(c, Stage.prompt, "prompt_failed",
          "cannot render or tokenize the prompt: " + e.getMessage()));
      return;
    }
    if (ids.length > maxPromptTokens) {
      rejected.inc();
      ctx.output(DeadLetters.TAG, DeadLetters.of(c, Stage.prompt, "too_many_tokens",
          "the prompt has " + ids.length + " tokens; the model takes at most " + maxPromptTokens
              + " (its length minus " + maxNewTokens + " for the reply)"));
      return;
    }
    out.collect(new PromptedComplaint(c, ids, PromptTemplate.VERSION));
  }

  @Override
  public void close() {
    if (tokenizer != null) {
      tokenizer.close();
    }
  }
}
