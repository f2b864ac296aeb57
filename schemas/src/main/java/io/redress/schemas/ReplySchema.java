package io.redress.schemas;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The JSON Schema of a drafted reply ({@code reply.schema.json} on the classpath) and the values
 * it allows, so the engine's guided decoder, the prompt builder and the job's checks all use one
 * copy. A test keeps these constants equal to the schema file.
 */
public final class ReplySchema {

    /** Classpath location of the schema. */
    public static final String RESOURCE = "/reply.schema.json";

    /** Property names in the order the schema lists them (and guided decoding emits them). */
    public static final List<String> FIELDS =
            List.of("category", "demands", "urgency", "sentiment", "reply_text");

    /** Allowed values of {@code category}. */
    public static final List<String> CATEGORIES = List.of(
            "billing", "delivery", "product_quality", "service_attitude", "account_login",
            "refund", "network_outage", "insurance_claim", "travel_hotel", "other");

    /** Allowed values of {@code urgency}, least urgent first. */
    public static final List<String> URGENCIES = List.of("low", "medium", "high", "critical");

    /** Allowed values of {@code sentiment}. */
    public static final List<String> SENTIMENTS =
            List.of("angry", "frustrated", "neutral", "anxious", "satisfied");

    /** Fewest items in {@code demands}. */
    public static final int MIN_DEMANDS = 1;

    /** Most items in {@code demands}. */
    public static final int MAX_DEMANDS = 3;

    /** Longest item of {@code demands}, in characters (code points, as JSON Schema counts). */
    public static final int MAX_DEMAND_LENGTH = 80;

    /** Upper bound on {@code reply_text} in characters (code points, as JSON Schema counts). */
    public static final int MAX_REPLY_TEXT_LENGTH = 600;

    private ReplySchema() {
    }

    private static volatile String text;

    /**
     * The schema text, read from the classpath on first use.
     *
     * @throws IllegalStateException if the resource is missing (a broken build, not a user error)
     */
    public static String text() {
        String t = text;
        if (t == null) {
            // A benign race: two threads may both read the file; they get the same text.
            t = load();
            text = t;
        }
        return t;
    }

    private static String load() {
        try (InputStream in = ReplySchema.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(
                        RESOURCE + " is not on the classpath; rebuild redress-schemas");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + RESOURCE, e);
        }
    }
}
