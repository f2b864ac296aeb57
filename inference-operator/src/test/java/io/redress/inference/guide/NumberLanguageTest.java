package io.redress.inference.guide;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Number automata against exact arithmetic: over every string of up to 4 characters from
 * {@code -0123456789.} (and random longer ones), the automaton accepts exactly the strings in
 * our documented syntax whose value lies in range; and no accepted prefix is a dead end.
 */
class NumberLanguageTest {

  private static final Pattern INTEGER = Pattern.compile("0|-?[1-9][0-9]*");
  private static final Pattern BOUNDED = Pattern.compile("-?(0|[1-9][0-9]*)(\\.[0-9]+)?");
  private static final Pattern FREE = Pattern.compile(
      "-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]{1,3})?");

  @ParameterizedTest(name = "integer={0} [{1}, {2}]")
  @CsvSource(nullValues = "none", value = {
    "true, none, none", "true, 0, 100", "true, -5, 5", "true, -1000, -7", "true, 137, none",
    "true, none, -3", "true, 1.5, 4.5", "true, 0, 0", "true, 10, 10", "true, -10, 99",
    "false, none, none", "false, 0.125, 0.5", "false, -2.75, -0.001", "false, none, -3.5",
    "false, 0.5, none", "false, -90, 90", "false, 0, 1", "false, 12.3, 12.3", "false, -0.5, 0",
    "false, 9.99, 10.01", "false, 100, 999.99"})
  void acceptsExactlyTheInRangeValues(boolean integer, BigDecimal min, BigDecimal max) {
    CodePointDfa dfa = NumberLanguage.build(integer, min, max);
    Pattern syntax = integer ? INTEGER : min == null && max == null ? FREE : BOUNDED;
    List<String> samples = new ArrayList<>();
    enumerate("", 4, integer ? "-0123456789" : "-0123456789.", samples);
    Random rnd = new Random(1);
    for (int i = 0; i < 1000; i++) {
      StringBuilder sb = new StringBuilder(rnd.nextBoolean() ? "-" : "");
      sb.append(1 + rnd.nextInt(9));
      for (int k = rnd.nextInt(4); k > 0; k--) {
        sb.append(rnd.nextInt(10));
      }
      if (!integer && rnd.nextBoolean()) {
        sb.append('.').append(rnd.nextInt(100000));
      }
      samples.add(sb.toString());
    }
    for (String s : samples) {
      boolean expected;
      if (integer) {
        expected = INTEGER.matcher(s).matches() && inRange(new BigDecimal(s), min, max);
      } else if (min == null && max == null) {
        expected = FREE.matcher(s).matches();
      } else {
        expected = BOUNDED.matcher(s).matches() && inRange(new BigDecimal(s), min, max)
            && !(s.startsWith("-") && new BigDecimal(s).signum() == 0); // no negative zero
      }
      assertThat(dfa.accepts(s)).as("%s", s).isEqualTo(expected);
    }
    assertNoDeadEnds(dfa);
  }

  /** Every reachable state can reach acceptance (the automaton is trimmed). */
  private static void assertNoDeadEnds(CodePointDfa dfa) {
    for (int q = 0; q < dfa.size(); q++) {
      boolean[] seen = new boolean[dfa.size()];
      assertThat(reaches(dfa, q, seen)).as("state %d", q).isTrue();
    }
  }

  private static boolean reaches(CodePointDfa dfa, int q, boolean[] seen) {
    if (dfa.accepting(q)) {
      return true;
    }
    seen[q] = true;
    for (int t : dfa.successors(q)) {
      if (!seen[t] && reaches(dfa, t, seen)) {
        return true;
      }
    }
    return false;
  }

  private static boolean inRange(BigDecimal v, BigDecimal min, BigDecimal max) {
    return (min == null || v.compareTo(min) >= 0) && (max == null || v.compareTo(max) <= 0);
  }

  private static void enumerate(String prefix, int left, String alphabet, List<String> out) {
    out.add(prefix);
    if (left == 0) {
      return;
    }
    for (char c : alphabet.toCharArray()) {
      enumerate(prefix + c, left - 1, alphabet, out);
    }
  }
}
