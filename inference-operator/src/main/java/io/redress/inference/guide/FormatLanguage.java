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
 *   <li>{@code hostname}: 1 to 4 lowercase labels of letters/digits with single inner hyphens,
 *       at most 61 characters each;
 *   <li>{@code email}, {@code idn-email}: {@code local@domain.tld}, ASCII letters/digits with
 *       single {@code . _ + -} separators, the domain as hostname labels;
 *   <li>{@code uri}, {@code url}, {@code iri}, {@code uri-template}: {@code scheme://host} with
 *       an optional port and a path of RFC 3986 pchars and percent-encodings, or
 *       {@code scheme:path} (urn:, mailto:, did:), then a query and a fragment;
 *   <li>{@code uri-reference}, {@code iri-reference}: such a URI or a relative reference;
 *   <li>{@code duration}: RFC 3339 appendix A, at most 4 digits per part;
 *   <li>{@code ipv6}: the full eight-group form; {@code json-pointer},
 *       {@code relative-json-pointer}: simple tokens; {@code regex}: a literal of letters,
 *       digits, space, {@code _ -}; {@code byte}: base64 with padding;
 *   <li>{@code host-name} (draft 3), {@code idn-hostname} as {@code hostname};
 *   <li>{@code int32}, {@code int64} (ajv-formats, on numbers): integers in the type's range;
 *       strings are unaffected.
 * </ul>
 *
 * <p>Format names a validator asserts but we do not support are {@link SchemaException}s; other
 * names (e.g. {@code float}, {@code textarea}, OpenAPI's {@code password} and {@code binary},
 * draft 3's {@code utc-millisec}, which no current validator checks) are annotations to
 * validators, which ignore them, and so do we.
 */
final class FormatLanguage {

  private FormatLanguage() {}

  private static final String DATE = "[12][0-9]{3}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
      + "|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)";
  private static final String TIME = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?"
      + "(?:Z|\\+(?:0[0-9]|1[0-3]):[0-5][0-9]|-(?:0[1-9]|1[0-3]):[0-5][0-9])";
  /**
   * At most 61 characters, single inner hyphens (never "--", which IDNA reserves, nor one at
   * either end).
   */
  private static final String LABEL = "[a-z0-9](?:-?[a-z0-9]){0,30}";
  /** At most 4 labels: 247 characters, within a host name's 253. */
  private static final String HOST = LABEL + "(?:\\." + LABEL + "){0,3}";
  /** A host whose last label starts with a letter (RFC 2396's toplabel, which java.net needs). */
  private static final String NAMED_HOST = "(?:" + LABEL + "\\.){0,3}[a-z](?:-?[a-z0-9]){0,30}";
  private static final String OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
  private static final String IPV4 = OCTET + "(?:\\." + OCTET + "){3}";
  /** RFC 3986 pchar without percent-encoding: unreserved, sub-delims, ':' and '@'. */
  private static final String PCHAR = "-A-Za-z0-9._~!$&'()*+,;=:@"; // class body, '-' first
  private static final String PERCENT = "%[0-9A-F]{2}";
  private static final String URI = uri(PCHAR);
  /** RFC 6570 literals exclude the apostrophe. */
  private static final String TEMPLATE = uri(PCHAR.replace("'", ""));
  /** A relative reference: an absolute path, or a first segment without ':' (RFC 3986 4.2). */
  private static final String RELATIVE = "(?:(?:/[" + PCHAR + "]+)+/?|"
      + "[" + PCHAR.replace(":", "") + "]+(?:/[" + PCHAR + "]+)*/?)"
      + query(PCHAR);
  /** Top-level domains that e-mail validators with a TLD list (networknt) know. */
  private static final String TLD = "(?:com|org|net|edu|gov|io|dev|ai|co|info|app|xyz|me|tv|uk"
      + "|de|fr|nl|be|ch|at|se|no|fi|dk|es|it|pl|ru|br|in|au|ca|us|jp|cn|kr)";
  // a local part of at most 64 characters (RFC 5321 4.5.3.1.1)
  private static final String EMAIL = "[A-Za-z0-9]{1,12}(?:[._+-][A-Za-z0-9]{1,12}){0,4}@(?:"
      + LABEL + "\\.){1,3}" + TLD;
  private static final String N = "[0-9]{1,4}";
  /** RFC 3339 appendix A: P then date parts in order (Y M D), a time part (H M S), or weeks. */
  private static final String DURATION = "P(?:(?:" + N + "Y(?:" + N + "M(?:" + N + "D)?)?|"
      + N + "M(?:" + N + "D)?|" + N + "D)(?:T(?:" + N + "H(?:" + N + "M(?:" + N + "S)?)?|"
      + N + "M(?:" + N + "S)?|" + N + "S))?|T(?:" + N + "H(?:" + N + "M(?:" + N + "S)?)?|"
      + N + "M(?:" + N + "S)?|" + N + "S)|" + N + "W)";
  private static final String POINTER = "(?:/[A-Za-z0-9_-]{0,20}){0,8}";

  /** Supported formats and their regexes (whole-string matches). */
  static final Map<String, String> REGEXES = Map.ofEntries(
      Map.entry("date", DATE),
      Map.entry("time", TIME),
      Map.entry("date-time", DATE + "T" + TIME),
      Map.entry("duration", DURATION),
      Map.entry("uuid", "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
      Map.entry("ipv4", IPV4),
      Map.entry("ipv6", "[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){7}"),
      Map.entry("hostname", HOST),
      Map.entry("host-name", HOST),
      Map.entry("idn-hostname", HOST),
      Map.entry("email", EMAIL),
      Map.entry("idn-email", EMAIL),
      Map.entry("uri", URI),
      Map.entry("url", URI),
      Map.entry("iri", URI),
      Map.entry("uri-template", TEMPLATE),
      Map.entry("uri-reference", "(?:" + URI + ")|" + RELATIVE),
      Map.entry("iri-reference", "(?:" + URI + ")|" + RELATIVE),
      Map.entry("json-pointer", POINTER),
      Map.entry("relative-json-pointer", "(?:0|[1-9][0-9]{0,3})(?:#|" + POINTER + ")"),
      Map.entry("regex", "[A-Za-z0-9 _-]{0,40}"),
      // canonical base64: the pad bits before '=' are zero
      Map.entry("byte", "(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]=="
          + "|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?"));

  /**
   * scheme://host[:port] (a name or an IPv4 address), a path of RFC 3986 pchars or %XX, query,
   * fragment.
   */
  private static String uri(String pchar) {
    String segment = "(?:[" + pchar + "]|" + PERCENT + ")+";
    String opaque = "(?:[" + pchar.replace("/", "") + "]|" + PERCENT + ")"; // not "/": no "//"
    return "[a-z][a-z0-9+.-]{0,19}:(?://(?:" + NAMED_HOST + "|" + IPV4 + ")(?::[1-9][0-9]{0,3})?"
        + "(?:/" + segment + ")*/?|" + opaque + segment + "?(?:/" + segment + ")*)" + query(pchar);
  }

  private static String query(String pchar) {
    return "(?:\\?(?:[" + pchar + "/?]|" + PERCENT + ")*)?(?:#(?:[" + pchar + "/?]|"
        + PERCENT + ")*)?";
  }

  /**
   * Formats that some validator (networknt, ajv-formats, python-jsonschema, a draft's list)
   * asserts but we do not generate: refused rather than ignored.
   */
  static final Set<String> KNOWN_UNSUPPORTED = Set.of("alpha", "alphanumeric", "color",
      "ip-address", "phone", "style", "unix-time", "iso-time",
      "iso-date-time", "date-time-local");

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
