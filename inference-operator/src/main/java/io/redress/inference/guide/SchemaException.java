package io.redress.inference.guide;

/**
 * A JSON Schema we cannot compile: an unsupported keyword, an invalid value, or constraints no
 * value can meet. The message names the keyword and its JSON pointer, and says what to change;
 * it is meant for the person who wrote the schema.
 */
public final class SchemaException extends IllegalArgumentException {

  private static final long serialVersionUID = 1L;

  private final String keyword;
  private final String pointer;

  /**
   * @param keyword the offending keyword ({@code "format"}), or a short tag ({@code "json"}) for
   *     errors outside any keyword
   * @param pointer the JSON pointer of that keyword in the schema ({@code "/properties/a/format"})
   * @param detail what is wrong and how to fix it
   */
  public SchemaException(String keyword, String pointer, String detail) {
    super("JSON Schema keyword '" + keyword + "' at " + (pointer.isEmpty() ? "(root)" : pointer)
        + ": " + detail);
    this.keyword = keyword;
    this.pointer = pointer;
  }

  /** The offending keyword. */
  public String keyword() {
    return keyword;
  }

  /** The JSON pointer of the offending keyword ({@code ""} for the document itself). */
  public String pointer() {
    return pointer;
  }
}
