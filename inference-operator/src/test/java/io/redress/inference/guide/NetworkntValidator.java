package io.redress.inference.guide;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Set;

/**
 * networknt json-schema-validator (draft 2020-12), the oracle of the soundness tests, with
 * {@code format} asserted (as draft 7 validators do by default): a generated string must be a
 * valid date, e-mail, ... not merely annotated as one.
 */
final class NetworkntValidator {

  /** Exact decimals; trailing bytes and duplicate keys are errors, not silently dropped. */
  static final ObjectMapper JSON = JsonMapper.builder()
      .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .build();
  private static final JsonSchemaFactory FACTORY =
      JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);

  private static final SchemaValidatorsConfig CONFIG = SchemaValidatorsConfig.builder()
      .formatAssertionsEnabled(true).build();

  private final JsonSchema schema;

  NetworkntValidator(String schemaJson) {
    try {
      schema = FACTORY.getSchema(JSON.readTree(schemaJson), CONFIG);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The validator's messages for a JSON text; empty when valid. */
  Set<?> errors(byte[] json) {
    JsonNode instance;
    try {
      instance = JSON.readTree(json);
    } catch (IOException e) {
      return Set.of("not JSON: " + e.getMessage());
    }
    return schema.validate(instance);
  }
}
