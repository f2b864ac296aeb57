package io.redress.job.score;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.Map;

/**
 * bge-small-zh-v1.5 / bge-small-en-v1.5 sentence embeddings with onnxruntime, from the ONNX
 * model and tokenizer that langchain4j's model artifacts ship on the class path. BGE's pooling:
 * the [CLS] token's last hidden state, L2-normalised. Inputs longer than 512 tokens are
 * truncated, as the model was trained. Thread-safe (an ORT session runs concurrently).
 */
public final class BgeEmbedder implements Embedder {

  /** The two models the job scores with, by conversation language. */
  public enum Model {
    ZH("bge-small-zh-v1.5"), EN("bge-small-en-v1.5");

    final String resource;

    Model(String resource) {
      this.resource = resource;
    }
  }

  private static final int MAX_TOKENS = 512;

  private final OrtEnvironment env;
  private final OrtSession session;
  private final HuggingFaceTokenizer tokenizer;
  private final boolean wantsTypeIds;

  private BgeEmbedder(OrtEnvironment env, OrtSession session, HuggingFaceTokenizer tokenizer) {
    this.env = env;
    this.session = session;
    this.tokenizer = tokenizer;
    this.wantsTypeIds = session.getInputNames().contains("token_type_ids");
  }

  /**
   * Loads a model from the class path.
   *
   * @throws IllegalStateException when the model artifact is missing (a broken build)
   */
  public static BgeEmbedder load(Model model) {
    // The same DJL defaults as the engine's tokenizer: CPU natives from the jar, no telemetry.
    setIfUnset("RUST_FLAVOR", "cpu");
    setIfUnset("OPT_OUT_TRACKING", "true");
    byte[] onnx = resource(model.resource + ".onnx");
    Map<String, String> options = new HashMap<>();
    options.put("addSpecialTokens", "true");
    options.put("truncation", "true");
    options.put("maxLength", Integer.toString(MAX_TOKENS));
    options.put("padding", "false");
    try (InputStream tok = open(model.resource + "-tokenizer.json")) {
      HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(tok, options);
      OrtEnvironment env = OrtEnvironment.getEnvironment();
      OrtSession.SessionOptions so = new OrtSession.SessionOptions();
      so.setIntraOpNumThreads(Math.max(1, Math.min(4, Runtime.getRuntime()
          .availableProcessors())));
      return new BgeEmbedder(env, env.createSession(onnx, so), tokenizer);
    } catch (IOException | OrtException e) {
      throw new IllegalStateException("cannot load " + model.resource + ": " + e.getMessage(),
          e);
    }
  }

  @Override
  public float[] embed(String text) {
    return embedAll(text)[0];
  }

  /**
   * One ONNX run for both texts (batch of two, the shorter padded and masked): on a CPU shared
   * with the engine, one run of two rows costs much less than two runs of one.
   */
  @Override
  public float[][] embedPair(String a, String b) {
    return embedAll(a, b);
  }

  /** The texts as one batch, rows padded to the longest and masked: one vector per text. */
  private float[][] embedAll(String... texts) {
    Encoding[] enc = new Encoding[texts.length];
    int width = 0;
    for (int r = 0; r < texts.length; r++) {
      enc[r] = tokenizer.encode(texts[r]);
      width = Math.max(width, enc[r].getIds().length);
    }
    long[][] ids = new long[texts.length][width];
    long[][] mask = new long[texts.length][width];
    long[][] types = new long[texts.length][width];
    for (int r = 0; r < texts.length; r++) {
      long[] id = enc[r].getIds();
      System.arraycopy(id, 0, ids[r], 0, id.length);
      System.arraycopy(enc[r].getAttentionMask(), 0, mask[r], 0, id.length);
      System.arraycopy(enc[r].getTypeIds(), 0, types[r], 0, id.length);
    }
    Map<String, OnnxTensor> inputs = new HashMap<>();
    try {
      inputs.put("input_ids", OnnxTensor.createTensor(env, ids));
      inputs.put("attention_mask", OnnxTensor.createTensor(env, mask));
      if (wantsTypeIds) {
        inputs.put("token_type_ids", OnnxTensor.createTensor(env, types));
      }
      try (OrtSession.Result out = session.run(inputs)) {
        float[][][] hidden = (float[][][]) out.get(0).getValue(); // (rows, tokens, 384)
        float[][] vectors = new float[texts.length][];
        for (int r = 0; r < texts.length; r++) {
          vectors[r] = normalise(hidden[r][0].clone()); // CLS pooling: the first position
        }
        return vectors;
      }
    } catch (OrtException e) {
      throw new IllegalStateException("embedding failed: " + e.getMessage(), e);
    } finally {
      inputs.values().forEach(OnnxTensor::close);
    }
  }

  private static float[] normalise(float[] v) {
    double n = 0;
    for (float x : v) {
      n += (double) x * x;
    }
    float inv = (float) (1 / Math.max(Math.sqrt(n), 1e-12));
    for (int i = 0; i < v.length; i++) {
      v[i] *= inv;
    }
    return v;
  }

  @Override
  public void close() {
    try {
      session.close();
    } catch (OrtException e) {
      // closing only frees native memory; nothing to do on failure
    }
    tokenizer.close();
  }

  private static byte[] resource(String name) {
    try (InputStream in = open(name)) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + name + ": " + e.getMessage(), e);
    }
  }

  private static InputStream open(String name) {
    InputStream in = BgeEmbedder.class.getClassLoader().getResourceAsStream(name);
    if (in == null) {
      throw new IllegalStateException(name + " is not on the class path: the job needs the"
          + " langchain4j-embeddings-bge-small-* model artifacts");
    }
    return in;
  }

  private static void setIfUnset(String name, String value) {
    if (System.getenv(name) == null && System.getProperty(name) == null) {
      System.setProperty(name, value);
    }
  }
}
