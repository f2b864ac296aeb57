package io.redress.inference.model;

/** The tensor names of an HF Qwen2 checkpoint, in one place for every loader. */
public final class WeightNames {

  public static final String EMBED = "model.embed_tokens.weight";
  public static final String FINAL_NORM = "model.norm.weight";
  public static final String LM_HEAD = "lm_head.weight";

  private WeightNames() {}

  /** A tensor of decoder layer {@code layer}, e.g. {@code layer(3, "self_attn.q_proj.weight")}. */
  public static String layer(int layer, String suffix) {
    return "model.layers." + layer + "." + suffix;
  }
}
