package io.redress.job.reply;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.redress.job.validate.InvalidInput;
import org.junit.jupiter.api.Test;

class ReplyParserTest {

  private final ReplyParser parser = new ReplyParser();

  @Test
  void validReplyParses() throws Exception {
    var r = parser.parse("{\"category\":\"delivery\",\"demands\":[\"find my parcel\"],"
        + "\"urgency\":\"high\",\"sentiment\":\"frustrated\",\"reply_text\":\"Sorry.\"}");
    assertThat(r.getCategory()).isEqualTo("delivery");
    assertThat(r.getDemands()).containsExactly("find my parcel");
  }

  @Test
  void garbageAndSchemaViolationsAreNamed() {
    assertThatThrownBy(() -> parser.parse("<|im_start|> random"))
        .isInstanceOfSatisfying(InvalidInput.class,
            e -> assertThat(e.code()).isEqualTo("invalid_json"));
    assertThatThrownBy(() -> parser.parse("{\"category\":\"weather\",\"demands\":[],"
        + "\"urgency\":\"high\",\"sentiment\":\"angry\",\"reply_text\":\"x\"}"))
        .isInstanceOfSatisfying(InvalidInput.class, e -> {
          assertThat(e.code()).isEqualTo("schema_violation");
          assertThat(e.getMessage()).contains("category");
        });
  }
}
