package io.redress.inference.runtime.cuda;

import io.redress.inference.model.ModelConfig;

/**
 * Which part of a model one tensor-parallel rank holds, Megatron style: a contiguous range of
 * query heads with their key/value heads, and a contiguous range of the MLP's intermediate
 * units. Q/K/V and gate/up are split by output rows (column-parallel: no communication), the
 * attention output and down projections by input columns (row-parallel: each rank's product is
 * a partial sum, all-reduced into the residual stream). Embedding, norms and the LM head are
 * whole on every rank that needs them.
 *
 * <p>With fewer KV heads than ranks (size a multiple of num_key_value_heads), each KV head is
 * replicated on the ranks whose query heads use it, as GQA allows.
 *
 * @param rank this rank, 0 .. size - 1
 * @param size ranks (the tensor-parallel size); 1 for the whole model
 */
record Shard(int rank, int size) {

  /** The whole model on one GPU. */
  static final Shard WHOLE = new Shard(0, 1);

  Shard {
    if (size < 1 || rank < 0 || rank >= size) {
      throw new IllegalArgumentException("rank " + rank + " of tensor parallel size " + size);
    }
  }

  /** Throws a clear error when {@code c} cannot be split over {@code size} ranks. */
  static void check(ModelConfig c, int size) {
    if (size < 1) {
      throw new IllegalArgumentException("tensor parallel size must be at least 1, got " + size);
    }
    boolean kvSplits = c.numKvHeads() % size == 0 || size % c.numKvHeads() == 0;
    if (c.numHeads() % size != 0 || !kvSplits || c.intermediateSize() % size != 0) {
      throw new IllegalArgumentException("tensor parallel size " + size + " must divide"
          + " num_attention_heads (" + c.numHeads() + ") and intermediate_size ("
          + c.intermediateSize() + "), and divide or be a multiple of num_key_value_heads ("
          + c.numKvHeads() + "); choose another --tensor-parallel-size");
    }
  }

  /** The rank's model: its heads and intermediate units, everything else as in {@code c}. */
  ModelConfig local(ModelConfig c) {
    check(c, size);
    return new ModelConfig(c.hiddenSize(), c.intermediateSize() / size, c.numLayers(),
        c.numHeads() / size, Math.max(1, c.numKvHeads() / size), c.headDim(), c.vocabSize(),
        c.maxPositions(), c.ropeTheta(), c.rmsNormEps(), c.tieWordEmbeddings(), c.dtype(),
        c.eosTokenIds());
  }

  /** The rank's rows of q_proj (cols = hidden) or of its bias (cols = 0). */
  Slice queryRows(ModelConfig c, long cols) {
    long q0 = (long) rank * c.numHeads() / size * c.headDim();
    return Slice.rows(c.qSize(), cols, q0, local(c).qSize());
  }

  /**
   * The rank's rows of k_proj or v_proj (or their biases): its KV heads, shared with
   * neighbouring ranks when replicated.
   */
  Slice kvRows(ModelConfig c, long cols) {
    long kv0 = (long) rank * c.numKvHeads() / size * c.headDim();
    return Slice.rows(c.kvSize(), cols, kv0, local(c).kvSize());
  }

  /** The rank's columns of o_proj (hidden, qSize): the inputs its heads produce. */
  Slice queryCols(ModelConfig c) {
    Slice q = queryRows(c, 0);
    return Slice.cols(c.hiddenSize(), c.qSize(), q.row0(), q.rows());
  }

  /** The rank's rows of gate_proj or up_proj (intermediate, hidden). */
  Slice unitRows(ModelConfig c) {
    long n = c.intermediateSize() / size;
    return Slice.rows(c.intermediateSize(), c.hiddenSize(), rank * n, n);
  }

  /** The rank's columns of down_proj (hidden, intermediate). */
  Slice unitCols(ModelConfig c) {
    Slice u = unitRows(c);
    return Slice.cols(c.hiddenSize(), c.intermediateSize(), u.row0(), u.rows());
  }

  /** Whether this rank samples (rank 0, which gathers the logits). */
  boolean samples() {
    return rank == 0;
  }

  /**
   * Whether the LM head is split over the ranks by vocabulary rows (each rank computes its
   * share of the logits; rank 0 gathers them): when there are several ranks and the rows split
   * into equal parts of whole float4s. Otherwise rank 0 holds it whole.
   */
  boolean splitsVocab(ModelConfig c) {
    return size > 1 && c.vocabSize() % (4 * size) == 0;
  }

  /** The rank's rows of the LM head (vocab, hidden): all of them unless split. */
  Slice vocabRows(ModelConfig c) {
    long v = c.vocabSize();
    if (!splitsVocab(c)) {
      return Slice.whole(v, c.hiddenSize());
    }
    return Slice.rows(v, c.hiddenSize(), rank * (v / size), v / size);
  }

  /**
   * Rows [row0, row0 + rows) and columns [col0, col0 + cols) of a (fullRows, fullCols) tensor
   * stored row-major; {@code fullCols == 0} for a vector.
   */
  record Slice(long fullRows, long fullCols, long row0, long rows, long col0, long cols) {

    static Slice whole(long rows, long cols) {
      return new Slice(rows, cols, 0, rows, 0, cols);
    }

    static Slice rows(long fullRows, long fullCols, long row0, long rows) {
      return new Slice(fullRows, fullCols, row0, rows, 0, fullCols);
    }

    static Slice cols(long fullRows, long fullCols, long col0, long cols) {
      return new Slice(fullRows, fullCols, 0, fullRows, col0, cols);
    }

    boolean isWhole() {
      return rows == fullRows && cols == fullCols;
    }

    /** Values in the slice. */
    long count() {
      return rows * Math.max(cols, 1);
    }

    /** The slice of {@code full} (the whole tensor, row-major), row-major. */
    float[] extract(float[] full) {
      long width = Math.max(fullCols, 1);
      long w = Math.max(cols, 1);
      float[] out = new float[Math.toIntExact(count())];
      for (long r = 0; r < rows; r++) {
        System.arraycopy(full, Math.toIntExact((row0 + r) * width + col0), out,
            Math.toIntExact(r * w), Math.toIntExact(w));
      }
      return out;
    }
  }
}
