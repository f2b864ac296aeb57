package io.redress.schemas;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Realistic records shared by the tests, one Chinese and one English conversation. */
final class Samples {

    // Whole milliseconds: timestamp-millis drops anything finer, and equality must survive a round trip.
    static final Instant T0 = Instant.parse("2025-03-14T09:26:53.589Z");

    private Samples() {
    }

    static ComplaintEvent zhEvent() {
        return ComplaintEvent.newBuilder()
                .setComplaintId("cmp-20250314-000187")
                .setConversationId("conv-7f3a9c")
                .setCustomerId("cust-880231")
                .setChannel("app")
                .setLanguage(Language.zh)
                .setCreatedAt(T0)
                .setTurns(List.of(
                        turn(TurnRole.customer, "我上周五下的订单到现在还没发货，物流一直显示“待揽收”，你们到底什么时候发？", 0),
                        turn(TurnRole.agent, "您好，非常抱歉给您带来不便，请提供一下订单号，我马上为您查询。", 45_000),
                        turn(TurnRole.customer, "订单号 JD20250307-5521。再不发货我就要申请退款了！", 92_000)))
                .setReferenceReply("您好，非常抱歉让您久等了。已为您催促仓库今天内发货，并补偿一张10元无门槛券；如今天仍未发出，可直接为您办理全额退款。")
                .setReferenceCategory("delivery")
                .setAttributes(Map.of("order_id", "JD20250307-5521", "region", "上海"))
                .build();
    }

    static ComplaintEvent enEvent() {
        // No reference reply, category or attributes: the defaults must fill them in.
        return ComplaintEvent.newBuilder()
                .setComplaintId("cmp-20250314-000188")
                .setConversationId("conv-b41e02")
                .setCustomerId("cust-102934")
                .setChannel("email")
                .setLanguage(Language.en)
                .setCreatedAt(T0.plusSeconds(600))
                .setTurns(List.of(
                        turn(TurnRole.customer, "I was charged twice for my March subscription ($29.99 each). Please refund the duplicate charge.", 600_000)))
                .build();
    }

    static ComplaintReply zhReply() {
        Reply reply = Reply.newBuilder()
                .setCategory("delivery")
                .setDemands(List.of("尽快发货", "说明延误原因", "否则全额退款"))
                .setUrgency("high")
                .setSentiment("angry")
                .setReplyText("您好，非常抱歉让您久等了。我们已催促仓库今天内发货，并为您补偿10元优惠券；如今天仍未发出，我们将为您办理全额退款。")
                .build();
        return ComplaintReply.newBuilder()
                .setComplaintId("cmp-20250314-000187")
                .setConversationId("conv-7f3a9c")
                .setModel("Qwen2.5-14B-Instruct-GPTQ-Int4")
                .setPromptVersion("v3")
                .setReply(reply)
                .setRawJson("{\"category\":\"delivery\",\"demands\":[\"尽快发货\",\"说明延误原因\",\"否则全额退款\"],"
                        + "\"urgency\":\"high\",\"sentiment\":\"angry\",\"reply_text\":\"您好，非常抱歉让您久等了。\"}")
                .setCosine(0.9132)
                .setCorrect(true)
                .setLatencyMs(1_184L)
                .setPromptTokens(612)
                .setCachedTokens(448)
                .setCompletionTokens(97)
                .setProcessedAt(T0.plusMillis(95_250))
                .setSourceTopic("complaints")
                .setSourcePartition(3)
                .setSourceOffset(1_048_576L)
                .build();
    }

    static ComplaintReply enReplyFromReplay() {
        // Replayed from a file with no reference reply: cosine, correct, source_* and cached_tokens default.
        Reply reply = Reply.newBuilder()
                .setCategory("billing")
                .setDemands(List.of("Refund the duplicate $29.99 charge"))
                .setUrgency("medium")
                .setSentiment("frustrated")
                .setReplyText("Hello, we're sorry for the double charge. We have refunded the duplicate $29.99; it will reach your card within 3-5 business days.")
                .build();
        return ComplaintReply.newBuilder()
                .setComplaintId("cmp-20250314-000188")
                .setConversationId("conv-b41e02")
                .setModel("Qwen2.5-14B-Instruct-GPTQ-Int4")
                .setPromptVersion("v3")
                .setReply(reply)
                .setRawJson("{\"category\":\"billing\"}")
                .setLatencyMs(903L)
                .setPromptTokens(388)
                .setCompletionTokens(64)
                .setProcessedAt(T0.plusSeconds(601))
                .build();
    }

    static DeadLetter kafkaDeadLetter() {
        return DeadLetter.newBuilder()
                .setSourceTopic("complaints")
                .setSourcePartition(0)
                .setSourceOffset(42L)
                .setRaw(ByteBuffer.wrap(new byte[] {0x00, (byte) 0xff, 0x13, 0x37}))
                .setStage(Stage.decode)
                .setErrorCode("avro_decode_failed")
                .setMessage("Record at complaints/0@42 is not Avro binary ComplaintEvent: unexpected end of input")
                .setAt(T0.plusSeconds(1))
                .build();
    }

    static DeadLetter fileDeadLetter() {
        return DeadLetter.newBuilder()
                .setSourceFile("logs/complaints-2025-03-14.jsonl")
                .setSourceLine(1_207L)
                .setRaw(ByteBuffer.wrap("{\"complaint_id\":\"cmp-1\",\"language\":\"fr\"}".getBytes(StandardCharsets.UTF_8)))
                .setStage(Stage.validate)
                .setErrorCode("unknown_language")
                .setMessage("language 'fr' is not supported; expected zh or en")
                .setAt(T0.plusSeconds(2))
                .build();
    }

    private static Turn turn(TurnRole role, String text, long offsetMillis) {
        return Turn.newBuilder().setRole(role).setText(text).setTs(T0.plusMillis(offsetMillis)).build();
    }
}
