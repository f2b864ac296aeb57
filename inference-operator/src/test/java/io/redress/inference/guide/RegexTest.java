package io.redress.inference.guide;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Our pattern automata against java.util.regex (what networknt runs) on random strings built
 * from each pattern's own characters and others: equal verdicts on strings without line
 * terminators; with them we may only be stricter ({@code $} before a final newline).
 */
class RegexTest {

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {
    "abc", "^abc$", "^a*b?$", "a|b|^c$", "(ab)+", "^(foo|bar)+$", "[a-c]{2,3}", "^[^a-c]*$",
    "\\d{3}-\\d{4}", "^\\w+@\\w+\\.com$", "^\\S+$", "\\s", "^.{0,3}$", "^$", "x?", "^(?:a|b)*c",
    "[\\u00e0-\\u00ff]+", "^[\\u4e00-\\u9fff]{1,2}$", "[😀-😆]", "^\\x41\\u0042$", "a{2}", "a{2,}",
    "^[-a]$", "^[a-]$", "^[\\]\\[]$", "^\\.\\*\\+\\?\\(\\)\\{\\}\\|\\^\\$\\\\\\/$", "^(?<g>a)b$",
    "^a+?b*?$", "^[\\d\\s]+$", "^\\D\\W$", "}", "]", "^(a|)$", "(^a)|(b$)", "^a$|^b$"
  })
  void agreesWithJavaUtilRegex(String pattern) throws Exception {
    CodePointDfa dfa = CodePointDfa.of(RegexParser.parse(pattern), true);
    Pattern java = Pattern.compile(pattern);
    Random rnd = new Random(pattern.hashCode());
    List<Integer> alphabet = new ArrayList<>();
    pattern.codePoints().forEach(alphabet::add);
    for (int cp : new int[] {'a', 'b', 'c', 'x', '0', '7', ' ', '\t', '_', '-', '@', '.', 'é',
        0x4e2d, 0x1F600, 0x1F607, '\n', '\r', 0x85, 0x2028, 'A', 'B', '/'}) {
      alphabet.add(cp);
    }
    for (int i = 0; i < 3000; i++) {
      StringBuilder sb = new StringBuilder();
      int n = rnd.nextInt(7);
      for (int k = 0; k < n; k++) {
        sb.appendCodePoint(alphabet.get(rnd.nextInt(alphabet.size())));
      }
      String s = sb.toString();
      boolean ours = dfa.accepts(s);
      boolean theirs = java.matcher(s).find();
      boolean terminators = s.chars().anyMatch(c -> c == '\n' || c == '\r' || c == 0x85
          || c == 0x2028 || c == 0x2029);
      if (terminators) {
        assertThat(!ours || theirs).as("%s on %s: we accept, Java does not", pattern, s).isTrue();
      } else {
        assertThat(ours).as("%s on \"%s\"", pattern, s).isEqualTo(theirs);
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"(a", "a)", "[a", "\\", "*a", "a{", "a{1", "a{2,1}", "a**+", "a++",
    "(?=a)", "(?!a)", "(?<=a)", "(?i)a", "\\1", "\\b", "\\B", "\\p{L}", "\\v", "\\0", "[]", "[^]",
    "[[a]]", "[a&&b]", "[\\d-z]", "^*", "\\cA", "\\uD800", "[z-a]", "a{1001}"})
  void refusesConstructsOutsideTheSubset(String pattern) {
    boolean refused;
    try {
      RegexParser.parse(pattern);
      refused = false;
    } catch (RegexParser.RegexSyntaxException e) {
      refused = true;
    }
    assertThat(refused).as(pattern).isTrue();
  }
}
