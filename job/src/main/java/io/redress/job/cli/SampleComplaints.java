package io.redress.job.cli;

import io.redress.schemas.ComplaintEvent;
import io.redress.schemas.Language;
import io.redress.schemas.Turn;
import io.redress.schemas.TurnRole;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Deterministic synthetic complaints (zh and en, several categories, one to three turns, a
 * human reference reply and category each) for the demo and the tests. Short on purpose: the
 * demo's fixture model has a 1,024-token context.
 */
public final class SampleComplaints {

  private record Template(String category, Language language, String[] customer,
      String agent, String reference) {
  }

  private static final List<Template> TEMPLATES = List.of(
      new Template("delivery", Language.en, new String[] {
          "My parcel was due three days ago and still has not arrived.",
          "The tracking page has not changed since Monday. I need it for a birthday."},
          "Sorry to hear that. Could you share the order number?",
          "We are sorry your parcel is late. We have asked the courier to locate it and will"
              + " update you within 24 hours; if it is lost we will resend it at no cost."),
      new Template("billing", Language.en, new String[] {
          "I was charged twice for my March invoice.",
          "Please refund the duplicate charge of 49.90."},
          "I can see two payments, let me check.",
          "We apologise for the double charge. We have refunded the duplicate 49.90; it will"
              + " reach your card within 5 working days."),
      new Template("account_login", Language.en, new String[] {
          "I cannot log in, the app says my password is wrong even after a reset."},
          "Have you tried the reset link from the latest email?",
          "Sorry for the trouble logging in. We have unlocked your account; please use the new"
              + " reset link we just sent, and contact us if it still fails."),
      new Template("refund", Language.en, new String[] {
          "I returned the shoes two weeks ago and have not received my refund."},
          "Thanks, I will look up the return.",
          "We apologise for the delay. Your return was received and the refund is being"
              + " processed today; you will see it within 3 to 5 days."),
      new Template("delivery", Language.zh, new String[] {
          "快递三天了还没到。", "请尽快帮我查一下。"},
          "抱歉，请提供订单号。",
          "很抱歉包裹延误了。我们已联系快递公司查询，24小时内回复您。"),
      new Template("billing", Language.zh, new String[] {
          "这个月被重复扣费了。"},
          "我帮您查一下账单。",
          "很抱歉重复扣费。我们已为您退回多扣的费用，五个工作日内到账。"),
      new Template("network_outage", Language.zh, new String[] {
          "家里宽带断网一整天了。"},
          "请问您尝试重启光猫了吗？",
          "很抱歉给您带来不便。我们已安排工程师今天上门检修。"),
      new Template("service_attitude", Language.en, new String[] {
          "The agent on the phone was rude and hung up on me."},
          "I am very sorry about that experience.",
          "We are sorry for how you were treated. We have raised it with the team lead and"
              + " someone will call you back today to resolve your issue."));

  private SampleComplaints() {
  }

  /** {@code n} events; the same n and seed give the same events. */
  public static List<ComplaintEvent> generate(int n, long seed) {
    Random rnd = new Random(seed);
    List<ComplaintEvent> out = new ArrayList<>(n);
    Instant base = Instant.parse("2025-03-01T09:00:00Z");
    for (int i = 0; i < n; i++) {
      Template t = TEMPLATES.get(rnd.nextInt(TEMPLATES.size()));
      Instant at = base.plusSeconds(60L * i);
      List<Turn> turns = new ArrayList<>();
      turns.add(new Turn(TurnRole.customer, t.customer[0], at));
      if (t.customer.length > 1 && rnd.nextBoolean()) {
        turns.add(new Turn(TurnRole.agent, t.agent, at.plusSeconds(20)));
        turns.add(new Turn(TurnRole.customer, t.customer[1], at.plusSeconds(40)));
      }
      out.add(ComplaintEvent.newBuilder()
          .setComplaintId(String.format("c-%06d", i))
          .setConversationId(String.format("conv-%05d", i / 2))
          .setCustomerId("cust-" + rnd.nextInt(1000))
          .setChannel(rnd.nextBoolean() ? "chat" : "email")
          .setLanguage(t.language)
          .setCreatedAt(at)
          .setTurns(turns)
          .setReferenceReply(t.reference)
          .setReferenceCategory(t.category)
          .setAttributes(Map.of("order_id", "o-" + (10000 + i)))
          .build());
    }
    return out;
  }
}
