package io.redress.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Map;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecordBase;
import org.junit.jupiter.api.Test;

class AvroRoundTripTest {

    @Test
    void complaintEventsRoundTrip() throws IOException {
        ComplaintEvent zh = Samples.zhEvent();
        ComplaintEvent back = roundTrip(zh, ComplaintEvent.class);
        assertThat(back).isEqualTo(zh);
        assertThat(back.getTurns().get(0).getText()).startsWith("我上周五下的订单");
        assertThat(back.getAttributes()).containsEntry("region", "上海");

        ComplaintEvent en = Samples.enEvent();
        assertThat(roundTrip(en, ComplaintEvent.class)).isEqualTo(en);
    }

    @Test
    void optionalEventFieldsDefault() {
        ComplaintEvent en = Samples.enEvent();
        assertThat(en.getReferenceReply()).isNull();
        assertThat(en.getReferenceCategory()).isNull();
        assertThat(en.getAttributes()).isEqualTo(Map.of());
    }

    @Test
    void complaintRepliesRoundTrip() throws IOException {
        ComplaintReply zh = Samples.zhReply();
        ComplaintReply back = roundTrip(zh, ComplaintReply.class);
        assertThat(back).isEqualTo(zh);
        assertThat(back.getReply().getDemands()).containsExactly("尽快发货", "说明延误原因", "否则全额退款");

        ComplaintReply en = Samples.enReplyFromReplay();
        assertThat(roundTrip(en, ComplaintReply.class)).isEqualTo(en);
    }

    @Test
    void optionalReplyFieldsDefault() {
        ComplaintReply en = Samples.enReplyFromReplay();
        assertThat(en.getCosine()).isNull();
        assertThat(en.getCorrect()).isNull();
        assertThat(en.getCachedTokens()).isZero();
        assertThat(en.getSourceTopic()).isNull();
        assertThat(en.getSourcePartition()).isNull();
        assertThat(en.getSourceOffset()).isNull();
    }

    @Test
    void deadLettersRoundTrip() throws IOException {
        DeadLetter kafka = Samples.kafkaDeadLetter();
        DeadLetter back = roundTrip(kafka, DeadLetter.class);
        assertThat(back).isEqualTo(kafka);
        assertThat(back.getSourceFile()).isNull();

        DeadLetter file = Samples.fileDeadLetter();
        back = roundTrip(file, DeadLetter.class);
        assertThat(back).isEqualTo(file);
        assertThat(back.getSourceTopic()).isNull();
        assertThat(back.getStage()).isEqualTo(Stage.validate);
    }

    static <T extends SpecificRecordBase> byte[] write(T record) throws IOException {
        @SuppressWarnings("unchecked")
        SpecificDatumWriter<T> writer = new SpecificDatumWriter<>((Class<T>) record.getClass());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        writer.write(record, encoder);
        encoder.flush();
        return out.toByteArray();
    }

    private static <T extends SpecificRecordBase> T roundTrip(T record, Class<T> type) throws IOException {
        byte[] bytes = write(record);
        BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(bytes, null);
        T back = new SpecificDatumReader<>(type).read(null, decoder);
        // The whole input must be consumed: a schema mismatch could otherwise leave bytes behind.
        assertThat(decoder.isEnd()).isTrue();
        return back;
    }
}
