package io.redress.job.score;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The real bge-small models (ONNX, from their Maven artifacts) on the CPU. */
class BgeEmbedderTest {

  private static BgeEmbedder en;
  private static BgeEmbedder zh;

  @BeforeAll
  static void load() {
    en = BgeEmbedder.load(BgeEmbedder.Model.EN);
    zh = BgeEmbedder.load(BgeEmbedder.Model.ZH);
  }

  @AfterAll
  static void close() {
    en.close();
    zh.close();
  }

  @Test
  void vectorsAreUnitLength() {
    float[] v = en.embed("Where is my parcel?");
    assertThat(v).hasSize(384);
    double n = 0;
    for (float x : v) {
      n += x * x;
    }
    assertThat(n).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-4));
  }

  @Test
  void paraphrasesScoreHigherThanUnrelatedText() {
    String a = "We are sorry your parcel is late; we will resend it at no cost.";
    String b = "Apologies for the delayed package, we will ship a replacement for free.";
    String c = "Your broadband engineer will visit this afternoon.";
    double same = Embedder.cosine(en.embed(a), en.embed(b));
    double other = Embedder.cosine(en.embed(a), en.embed(c));
    assertThat(same).isGreaterThan(other + 0.05);
    assertThat(Embedder.cosine(en.embed(a), en.embed(a))).isGreaterThan(0.999);

    double zhSame = Embedder.cosine(zh.embed("很抱歉包裹延误了，我们会免费补发。"),
        zh.embed("抱歉快递晚到了，我们将免费重新寄送。"));
    double zhOther = Embedder.cosine(zh.embed("很抱歉包裹延误了，我们会免费补发。"),
        zh.embed("工程师今天下午上门维修宽带。"));
    assertThat(zhSame).isGreaterThan(zhOther + 0.05);
  }

  @Test
  void aBatchedPairEqualsTwoSingleEmbeddings() {
    // Different lengths, so the shorter row is padded: the mask must hide the padding.
    String a = "Sorry.";
    String b = "We are sorry your parcel is late; we will resend it at no cost within two days.";
    for (BgeEmbedder e : new BgeEmbedder[] {en, zh}) {
      float[][] pair = e.embedPair(a, b);
      assertThat(Embedder.cosine(pair[0], e.embed(a))).isGreaterThan(0.99999);
      assertThat(Embedder.cosine(pair[1], e.embed(b))).isGreaterThan(0.99999);
    }
  }

  @Test
  void scorerPicksTheModelByLanguage() {
    Scorer s = new Scorer(m -> m == BgeEmbedder.Model.ZH ? zh : en);
    assertThat(s.cosine("en", "Thanks for waiting.", "Thanks for waiting.")).isGreaterThan(0.999);
    assertThat(s.cosine("zh", "谢谢", "谢谢")).isGreaterThan(0.999);
  }
}
