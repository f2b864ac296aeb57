package io.redress.inference.guide;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Our compact writer is byte-identical to Jackson's (the form instances are compared in). */
class CompactJsonTest {

  private static final JsonNodeFactory F = JsonNodeFactory.instance;

  @Test
  void matchesJacksonByteForByte() throws Exception {
    Random rnd = new Random(5);
    for (int i = 0; i < 3000; i++) {
      JsonNode v = value(rnd, 0);
      assertThat(CompactJson.bytes(v)).as("%s", v)
          .isEqualTo(InstanceGenerator.WRITER.writeValueAsBytes(v));
    }
  }

  private static JsonNode value(Random rnd, int depth) {
    switch (rnd.nextInt(depth > 2 ? 6 : 8)) {
      case 0:
        return F.textNode(text(rnd));
      case 1:
        return F.numberNode(BigDecimal.valueOf(rnd.nextLong() % 100000, rnd.nextInt(8) - 2));
      case 2:
        return F.numberNode(rnd.nextInt() % 1000);
      case 3:
        return F.numberNode(BigInteger.valueOf(rnd.nextLong()).multiply(BigInteger.TEN.pow(3)));
      case 4:
        return F.booleanNode(rnd.nextBoolean());
      case 5:
        return F.nullNode();
      case 6: {
        ObjectNode o = F.objectNode();
        for (int k = rnd.nextInt(4); k > 0; k--) {
          o.set(text(rnd), value(rnd, depth + 1));
        }
        return o;
      }
      default: {
        ArrayNode a = F.arrayNode();
        for (int k = rnd.nextInt(4); k > 0; k--) {
          a.add(value(rnd, depth + 1));
        }
        return a;
      }
    }
  }

  private static String text(Random rnd) {
    StringBuilder sb = new StringBuilder();
    for (int k = rnd.nextInt(8); k > 0; k--) {
      int r = rnd.nextInt(6);
      int cp = r == 0 ? rnd.nextInt(0x20) : r == 1 ? 0x20 + rnd.nextInt(0x60)
          : r == 2 ? 0x80 + rnd.nextInt(0x800) : r == 3 ? 0x2000 + rnd.nextInt(0xB000)
          : r == 4 ? 0x10000 + rnd.nextInt(0x2000) : "\"\\/\u007f\u2028".charAt(rnd.nextInt(5));
      sb.appendCodePoint(cp);
    }
    return sb.toString();
  }
}
