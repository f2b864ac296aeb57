package io.redress.inference.guide;

import java.util.Map;
import java.util.Set;

/**
 * The strings we generate for a {@code format}: for each supported format a conservative regex
 * whose every match is valid for the format (RFC 3339, RFC 5321-ish e-mail, RFC 4122, RFC 3986),
 * as validators that assert formats check them; many valid values are outside it (we never need
 * them all, only never an invalid one). Formats are treated as assertions (draft 7 validators
 * assert them by default, and so do 2020-12 ones with the format-assertion vocabulary).
 *
 * <ul>
 *   <li>{@code date}: {@code YYYY-MM-DD}, years 1000-2999, days valid for the month (no
 *       29 February);
 *   <li>{@code time}: {@code hh:mm:ss(.fraction)?} then {@code Z} or {@code +hh:mm}/{@code -hh:mm}
 *       with offsets below 14:00 (what java.time also reads), never {@code -00:00} (RFC 3339's
 *       "unknown offset", which some validators refuse); no leap second;
 *   <li>{@code date-time}: a date, {@code T}, a time;
 *   <li>{@code uuid}: 8-4-4-4-12 hex digits;
 *   <li>{@code ipv4}: dotted quad without leading zeros;
 *   <li>{@code hostname}: 1 to 5 lowercase labels of letters/digits, at most one inner hyphen;
 *   <li>{@code email}: {@code local@domain.tld}, ASCII letters/digits with single {@code . _ -}
 *       separators, the domain as hostname labels and a common TLD;
 *   <li>{@code uri} (and {@code url}): {@code http(s)://host.tld} with an optional port, path and
 *       query of unreserved characters;
 *   <li>{@code host-name} (draft 3) as {@code hostname};
 *   <li>{@code int32}, {@code int64} (ajv-formats, on numbers): integers in the type's range;
 *       strings are unaffected.
 * </ul>
 *
 * <p>Format names a validator knows but we do not support are {@link SchemaException}s; other
 * names (e.g. {@code float}, {@code textarea}) are unknown to validators, which ignore them, and
 * so do we.
 */
final class FormatLanguage {

  private FormatLanguage() {}

  private static final String DATE = "[12][0-9]{3}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
      + "|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)";
  private static final String TIME = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?"
      + "(?:Z|\\+(?:0[0-9]|1[0-3]):[0-5][0-9]|-(?:0[1-9]|1[0-3]):[0-5][0-9])";
  private static final String LABEL = "[a-z0-9]{1,20}(?:-[a-z0-9]{1,20})?";
  private static final String HOST = LABEL + "(?:\\." + LABEL + "){0,4}";
  private static final String TLD = "(?:com|org|net|edu|gov|io|dev|ai|co|info|uk|de|fr|jp|cn)";
  private static final String OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
  private static final String SEGMENT = "[A-Za-z0-9_~-]{1,40}";
  private static final String URI = "https?://(?:" + LABEL + "\\.){1,3}" + TLD
      + "(?::[1-9][0-9]{1,3})?(?:/" + SEGMENT + "){0,6}/?(?:\\?[A-Za-z0-9_-]{1,20}="
      + "[A-Za-z0-9_-]{0,20}(?:&[A-Za-z0-9_-]{1,20}=[A-Za-z0-9_-]{0,20}){0,3})?";

  /** Supported formats and their regexes (whole-string matches). */
  static final Map<String, String> REGEXES = Map.of(
      "url", URI,
      "host-name", HOST,
      "date", DATE,
      "time", TIME,
      "date-time", DATE + "T" + TIME,
      "uuid", "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
      "ipv4", OCTET + "(?:\\." + OCTET + "){3}",
      "hostname", HOST,
      "email", "[A-Za-z0-9]{1,20}(?:[._-][A-Za-z0-9]{1,20}){0,2}@(?:" + LABEL + "\\.){1,3}" + TLD,
      "uri", URI);

  /**
   * Formats that validators (networknt, ajv-formats, the drafts' lists) assert but we do not
   * generate: refused rather than ignored.
   */
  static final Set<String> KNOWN_UNSUPPORTED = Set.of("duration", "idn-email", "idn-hostname",
      "ipv6", "uri-reference", "iri", "iri-reference", "uri-template", "json-pointer",
      "relative-json-pointer", "regex", "alpha", "alphanumeric", "color", "ip-address", "phone",
      "style", "utc-millisec", "byte",
      "binary", "password", "unix-time", "iso-time", "iso-date-time", "date-time-local");

  /** The regex of a supported format, null for an unknown one (ignored). */
  static Regex regex(String format) throws RegexParser.RegexSyntaxException {
    String r = REGEXES.get(format);
    return r == null ? null : RegexParser.parse("^(?:" + r + ")$");
  }

  static boolean supported(String format) {
    return REGEXES.containsKey(format);
  }

  static boolean knownUnsupported(String format) {
    return KNOWN_UNSUPPORTED.contains(format);
  }

  /** For integers and numbers: {@code int32}/{@code int64} (ajv-formats) bound the value. */
  static final Map<String, long[]> INTEGER_RANGES = Map.of(
      "int32", new long[] {Integer.MIN_VALUE, Integer.MAX_VALUE},
      "int64", new long[] {Long.MIN_VALUE, Long.MAX_VALUE});
}
