package io.redress.inference.model;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * Where one tensor lives: its file and absolute byte range, dtype and shape.
 *
 * @param name tensor name, e.g. {@code model.layers.0.self_attn.q_proj.weight}
 * @param dtype element type
 * @param shape dimensions, outermost first (row-major)
 * @param file the safetensors file holding it
 * @param offset absolute byte offset of the first element in {@code file}
 * @param byteSize bytes of data
 */
public record TensorInfo(
    String name, DType dtype, long[] shape, Path file, long offset, long byteSize) {

  public TensorInfo {
    shape = shape.clone();
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** Number of elements. */
  public long numel() {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }

  /** Whether the shape equals {@code expected}. */
  public boolean hasShape(long... expected) {
    return Arrays.equals(shape, expected);
  }

  /** Shape as {@code [a, b]} for messages. */
  public String shapeText() {
    return Arrays.toString(shape);
  }
}
