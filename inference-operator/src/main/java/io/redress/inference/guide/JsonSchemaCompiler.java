package io.redress.inference.guide;

import java.util.Objects;

/**
 * Compiles a JSON Schema (a documented subset of draft 2020-12) into a {@link CompiledSchema}
 * for guided decoding.
 *
 * <p>Supported: {@code type} (one or a list), {@code properties}, {@code required},
 * {@code additionalProperties} (false, true or a schema), {@code enum}, {@code const},
 * {@code items}, {@code prefixItems}, {@code minItems}/{@code maxItems},
 * {@code minLength}/{@code maxLength} (code points), {@code minimum}/{@code maximum},
 * {@code pattern} (see {@link RegexParser}), {@code anyOf}, {@code oneOf} (branches must be
 * provably disjoint), {@code $ref} to local pointers ({@code #/$defs/..},
 * {@code #/definitions/..}, {@code #}), any nesting and recursion. Ignored annotations:
 * {@code $schema}, {@code $id}, {@code title}, {@code description}, {@code examples},
 * {@code default}, {@code $comment}. Anything else, an invalid value, or constraints no value
 * meets is a {@link SchemaException} naming the keyword and its JSON pointer.
 *
 * <p>What matchers produce: compact JSON (no whitespace), declared properties in schema order,
 * no extra properties unless {@code additionalProperties} is a schema or true, or the object
 * declares no properties at all (extra ones come after the declared ones, with keys other than
 * the declared names), no items after {@code prefixItems} unless {@code items} allows them (or
 * {@code minItems} needs them), a missing {@code type} taken from
 * the keywords present (e.g. {@code properties} means object), enum/const values in their
 * compact form, numbers as described in {@link NumberLanguage}, strings with any Unicode and any
 * JSON escape.
 */
public final class JsonSchemaCompiler {

  private JsonSchemaCompiler() {}

  /**
   * @param schemaJson the schema as JSON text
   * @throws SchemaException when the schema is unsupported, invalid or unsatisfiable
   */
  public static CompiledSchema compile(String schemaJson) {
    Objects.requireNonNull(schemaJson, "schemaJson");
    long t0 = System.nanoTime();
    SchemaReader reader = SchemaReader.parse(schemaJson);
    Grammar grammar = GrammarBuilder.build(reader);
    return new CompiledSchema(schemaJson, grammar, System.nanoTime() - t0);
  }
}
