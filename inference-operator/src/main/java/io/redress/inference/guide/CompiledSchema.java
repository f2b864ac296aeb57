package io.redress.inference.guide;

import java.util.Map;
import java.util.Objects;
import java.util.WeakHashMap;

/**
 * A JSON Schema compiled for guided decoding (see {@link JsonSchemaCompiler}). Immutable and
 * thread-safe; make one matcher per sequence with {@link #newMatcher}. Per vocabulary it keeps a
 * mask cache shared by its matchers.
 */
public final class CompiledSchema {

  private final String schemaText;
  private final Automaton automaton;
  private final long compileNanos;
  private final Map<TokenVocabulary, MaskEngine> engines = new WeakHashMap<>();

  CompiledSchema(String schemaText, Grammar grammar, long compileNanos) {
    this.schemaText = schemaText;
    this.automaton = new Automaton(grammar);
    this.compileNanos = compileNanos;
  }

  /** A matcher at the start of a document. */
  public GrammarMatcher newMatcher(TokenVocabulary vocabulary) {
    Objects.requireNonNull(vocabulary, "vocabulary");
    return new GrammarMatcher(engine(vocabulary), automaton.initial());
  }

  /** The schema text this was compiled from. */
  public String schemaText() {
    return schemaText;
  }

  /** How long compiling took. */
  public long compileNanos() {
    return compileNanos;
  }

  /** Masks cached for a vocabulary so far (for statistics). */
  public int cachedMasks(TokenVocabulary vocabulary) {
    return engine(vocabulary).cachedMasks();
  }

  MaskEngine engine(TokenVocabulary vocabulary) {
    synchronized (engines) {
      return engines.computeIfAbsent(vocabulary, v -> new MaskEngine(automaton, v));
    }
  }
}
