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
 * {@code pattern} (see {@link RegexParser}), {@code format} (date-time, date, time, email, uuid,
 * uri, url, hostname, ipv4, int32, int64; each a conservative subset, see
 * {@link FormatLanguage}; other formats validators know are refused, unknown names ignored),
 * {@code anyOf}, {@code oneOf} (branches must be provably disjoint), {@code allOf} (branches
 * merged into one schema: properties key by key, required united, bounds tightened,
 * anyOf/oneOf distributed; two different patterns or formats, or anyOf/oneOf in two branches,
 * are refused), keywords beside {@code anyOf}/{@code oneOf}/{@code $ref} (merged the same way;
 * draft 7 ignores those beside $ref, so the merge is at most stricter), {@code uniqueItems:
 * false}, {@code $ref} to local pointers ({@code #/$defs/..}, {@code #/definitions/..},
 * {@code #}), any nesting and recursion (except a recursion that has to be merged through
 * allOf). Ignored annotations: {@code $schema}, {@code $id} (below the root only where no
 * {@code $ref} is inside it), {@code title}, {@code description}, {@code examples},
 * {@code default}, {@code $comment}, {@code deprecated}, {@code readOnly}, {@code writeOnly},
 * and every keyword that no JSON Schema draft (3 to 2020-12) defines ({@code x-...},
 * {@code example}, {@code javaType}, ...): validators ignore those too (2020-12 section 6.5).
 * Keywords a draft defines that we do not implement ({@code not}, {@code if},
 * {@code patternProperties}, {@code dependencies}, {@code multipleOf},
 * {@code exclusiveMinimum}, {@code additionalItems}, {@code contentEncoding}, ... see
 * {@link SchemaReader#KNOWN_UNSUPPORTED}), an invalid value, or constraints no value meets is
 * a {@link SchemaException} naming the keyword and its JSON pointer.
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
    return compile(schemaJson, false);
  }

  /**
   * {@link #compile(String)}, choosing what an object with declared properties and no
   * {@code additionalProperties} accepts besides them (and a tuple, prefixItems without items,
   * after its last position).
   *
   * @param openObjects true: any other member (any further item), as JSON Schema reads it
   *     (validators, MaskBench); false (the engine's default): none, so a model cannot invent
   *     keys
   */
  public static CompiledSchema compile(String schemaJson, boolean openObjects) {
    Objects.requireNonNull(schemaJson, "schemaJson");
    long t0 = System.nanoTime();
    SchemaReader reader = SchemaReader.parse(schemaJson);
    Grammar grammar = GrammarBuilder.build(reader, openObjects);
    return new CompiledSchema(schemaJson, grammar, System.nanoTime() - t0);
  }
}
