package io.redress.inference.guide;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.OffsetTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code format}: every string of our conservative languages is valid for the format, checked
 * on random members of each language by networknt with format assertions on and by java.time /
 * java.net / java.util parsers; and the matcher accepts typical values and refuses invalid ones.
 */
class FormatLanguageTest {

  private static final int SAMPLES = 20000;

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"date", "time", "date-time", "uuid", "ipv4", "hostname", "email",
      "uri", "url", "host-name", "iri", "uri-template", "uri-reference", "iri-reference",
      "duration", "ipv6", "idn-email", "idn-hostname", "json-pointer", "relative-json-pointer",
      "regex", "byte"})
  void everyGeneratedStringIsValid(String format) throws Exception {
    Regex regex = FormatLanguage.regex(format);
    String checked = switch (format) {
      case "url" -> "uri";
      case "host-name" -> "hostname";
      default -> format;
    };
    NetworkntValidator validator =
        new NetworkntValidator("{\"type\":\"string\",\"format\":\"" + checked + "\"}");
    CodePointDfa dfa = CodePointDfa.of(regex, true);
    Random rnd = new Random(format.hashCode());
    List<String> invalid = new ArrayList<>();
    for (int i = 0; i < SAMPLES; i++) {
      StringBuilder sb = new StringBuilder();
      generate(regex, sb, rnd);
      String v = sb.toString();
      assertThat(dfa.accepts(v)).as(v).isTrue();
      byte[] json = InstanceGenerator.WRITER.writeValueAsBytes(v);
      if (!validator.errors(json).isEmpty() || !independentlyValid(checked, v)) {
        invalid.add(v + " " + validator.errors(json));
      }
    }
    assertThat(invalid).isEmpty();
  }

  /** RFC 3339 appendix A's duration ABNF, transcribed separately from FormatLanguage's. */
  private static final String RFC3339_DURATION;

  static {
    String second = "\\d+S";
    String minute = "\\d+M(" + second + ")?";
    String hour = "\\d+H(" + minute + ")?";
    String time = "T(" + hour + "|" + minute + "|" + second + ")";
    String day = "\\d+D";
    String month = "\\d+M(" + day + ")?";
    String year = "\\d+Y(" + month + ")?";
    String date = "(" + day + "|" + month + "|" + year + ")(" + time + ")?";
    RFC3339_DURATION = "P(" + date + "|" + time + "|\\d+W)";
  }

  private static boolean independentlyValid(String format, String v) {
    try {
      switch (format) {
        case "date" -> LocalDate.parse(v);
        case "time" -> OffsetTime.parse(v);
        case "date-time" -> OffsetDateTime.parse(v);
        case "uuid" -> {
          return UUID.fromString(v).toString().equals(v);
        }
        case "uri", "iri", "uri-template" -> {
          URI u = new URI(v);
          return u.isAbsolute() && (u.getHost() != null || u.isOpaque());
        }
        case "uri-reference", "iri-reference" -> new URI(v);
        case "duration" -> {
          return v.matches(RFC3339_DURATION);
        }
        case "ipv6" -> {
          return java.net.InetAddress.getByName(v) instanceof java.net.Inet6Address;
        }
        case "regex" -> java.util.regex.Pattern.compile(v);
        case "byte" -> {
          return java.util.Arrays.equals(java.util.Base64.getEncoder().encode(
              java.util.Base64.getDecoder().decode(v)), v.getBytes(StandardCharsets.US_ASCII));
        }
        case "json-pointer" -> {
          return v.isEmpty() || v.startsWith("/") && !v.contains("~");
        }
        case "relative-json-pointer" -> {
          return v.matches("(0|[1-9][0-9]*)(#|(/[^/~]*)*)");
        }
        case "ipv4" -> {
          String[] parts = v.split("\\.");
          if (parts.length != 4) {
            return false;
          }
          for (String p : parts) {
            int n = Integer.parseInt(p);
            if (n > 255 || !String.valueOf(n).equals(p)) {
              return false;
            }
          }
        }
        default -> {
          // hostname, email and their idn forms: networknt only
        }
      }
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  /** A random member of the regex's language (anchors match the empty string). */
  static void generate(Regex r, StringBuilder sb, Random rnd) {
    if (r instanceof Regex.Chars c) {
      CodePointSet set = c.set();
      int k = rnd.nextInt(set.rangeCount());
      sb.appendCodePoint(set.lo(k) + rnd.nextInt(set.hi(k) - set.lo(k) + 1));
    } else if (r instanceof Regex.Seq seq) {
      seq.parts().forEach(p -> generate(p, sb, rnd));
    } else if (r instanceof Regex.Alt alt) {
      generate(alt.alternatives().get(rnd.nextInt(alt.alternatives().size())), sb, rnd);
    } else if (r instanceof Regex.Repeat rep) {
      int hi = rep.max() < 0 ? rep.min() + 3 : rep.max();
      int n = rep.min() + rnd.nextInt(hi - rep.min() + 1);
      for (int i = 0; i < n; i++) {
        generate(rep.body(), sb, rnd);
      }
    }
  }

  @ParameterizedTest(name = "{0} {1} -> {2}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
      date      | `"2024-02-28"`                    | true
      date      | `"2024-02-30"`                    | false
      date      | `"2024-13-01"`                    | false
      date      | `"2024-04-31"`                    | false
      date      | `"2024-1-01"`                     | false
      date-time | `"2024-05-06T07:08:09Z"`          | true
      date-time | `"2024-05-06T07:08:09.123+02:00"` | true
      date-time | `"2024-05-06T07:08:09"`           | false
      date-time | `"2024-05-06 07:08:09Z"`          | false
      time      | `"23:59:59Z"`                     | true
      time      | `"24:00:00Z"`                     | false
      uuid      | `"123e4567-e89b-12d3-a456-426614174000"` | true
      uuid      | `"123e4567-e89b-12d3-a456-42661417400"`  | false
      ipv4      | `"192.168.0.1"`                   | true
      ipv4      | `"256.1.1.1"`                     | false
      ipv4      | `"01.1.1.1"`                      | false
      email     | `"jane.doe@example.com"`          | true
      email     | `"jane@@example.com"`             | false
      email     | `"jane@example"`                  | false
      hostname  | `"api.example-1.com"`             | true
      hostname  | `"-bad.com"`                      | false
      uri       | `"https://example.com/a/b?x=1"`   | true
      uri       | `"example.com/a"`                 | false
      uri       | `"https://exa mple.com"`          | false
      """)
  void matcherFollowsTheFormat(String format, String text, boolean ok) {
    assertThat(MatcherTest.accepts("{\"type\":\"string\",\"format\":\"" + format + "\"}", text))
        .isEqualTo(ok);
  }

  @ParameterizedTest(name = "{0} {1} -> {2}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
      {"format":"date"}                                             | `"2024-01-02"`   | true
      {"format":"date"}                                             | `5`              | false
      {"type":["string","integer"],"format":"date"}                 | `5`              | true
      {"type":"string","format":"date","pattern":"^2024-"}          | `"2024-01-02"`   | true
      {"type":"string","format":"date","pattern":"^2024-"}          | `"2023-01-02"`   | false
      {"type":"string","format":"email","maxLength":8}              | `"a@b.com"`      | true
      {"type":"string","format":"email","maxLength":8}              | `"ab@cd.com"`    | false
      {"type":"string","format":"textarea"}                         | `"any text"`     | true
      {"type":"integer","format":"int32"}                           | `2147483647`     | true
      {"type":"integer","format":"int32"}                           | `2147483648`     | false
      {"type":"number","format":"int32"}                            | `1.5`            | false
      {"type":"number","format":"int64","minimum":0}                | `-1`             | false
      {"type":"number","format":"double"}                           | `1.5`            | true
      {"type":"string","format":"int32"}                            | `"x"`            | true
      {"type":"string","enum":["2024-01-02","soon"],"format":"date"} | `"2024-01-02"`   | true
      {"type":"string","enum":["2024-01-02","soon"],"format":"date"} | `"soon"`         | false
      {"type":"array","uniqueItems":false,"items":{"type":"null"}}  | `[null,null]`    | true
      {"type":"integer","x-unit":"ms","readOnly":true,"deprecated":false} | `5`        | true
      """)
  void keywordsCombine(String schema, String text, boolean ok) {
    assertThat(MatcherTest.accepts(schema, text)).isEqualTo(ok);
    if (ok) {
      assertThat(new NetworkntValidator(schema).errors(text.getBytes(StandardCharsets.UTF_8)))
          .isEmpty();
    }
  }
}
