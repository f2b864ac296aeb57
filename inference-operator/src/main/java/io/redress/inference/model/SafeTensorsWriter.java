package io.redress.inference.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a safetensors file from fp32 arrays stored as BF16, F16 or F32 (random-weight models
 * for benchmarks and tests). Tensors are added in order and written by {@link #write}.
 */
public final class SafeTensorsWriter {

  private record Entry(String name, DType dtype, long[] shape, float[] data) {}

  private static final ObjectMapper JSON = new ObjectMapper();
  private final List<Entry> entries = new ArrayList<>();

  /** Adds a tensor; {@code data.length} must equal the product of {@code shape}. */
  public SafeTensorsWriter add(String name, DType dtype, float[] data, long... shape) {
    long numel = 1;
    for (long d : shape) {
      numel *= d;
    }
    if (numel != data.length || !dtype.isFloat()) {
      throw new IllegalArgumentException(name + ": " + data.length + " values for shape "
          + java.util.Arrays.toString(shape) + " as " + dtype);
    }
    entries.add(new Entry(name, dtype, shape.clone(), data));
    return this;
  }

  /** Writes the header and every tensor to {@code file}, replacing it. */
  public void write(Path file) throws IOException {
    ObjectNode header = JSON.createObjectNode();
    header.putObject("__metadata__").put("format", "pt");
    long offset = 0;
    for (Entry e : entries) {
      long bytes = (long) e.data.length * e.dtype.bytes();
      ObjectNode t = header.putObject(e.name);
      t.put("dtype", e.dtype.name());
      var shape = t.putArray("shape");
      for (long d : e.shape) {
        shape.add(d);
      }
      t.putArray("data_offsets").add(offset).add(offset + bytes);
      offset += bytes;
    }
    byte[] json = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
    // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
    int padded = (json.length + 7) / 8 * 8;
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
      head.putLong(padded).put(json);
      while (head.hasRemaining()) {
        head.put((byte) ' ');
      }
      head.flip();
      writeFully(ch, head);
      for (Entry e : entries) {
        writeTensor(ch, e);
      }
    }
  }

  private static void writeTensor(FileChannel ch, Entry e) throws IOException {
    int chunk = 1 << 20;
    ByteBuffer buf = ByteBuffer.allocate(chunk * e.dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
    for (int start = 0; start < e.data.length; start += chunk) {
      buf.clear();
      int end = Math.min(e.data.length, start + chunk);
      for (int i = start; i < end; i++) {
        float v = e.data[i];
        switch (e.dtype) {
          case F32 -> buf.putFloat(v);
          case BF16 -> buf.putShort(floatToBf16(v));
          case F16 -> buf.putShort(floatToF16(v));
          default -> throw new IllegalStateException();
        }
      }
      buf.flip();
      writeFully(ch, buf);
    }
  }

  private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
    while (buf.hasRemaining()) {
      ch.write(buf);
    }
  }

  /** fp32 to bf16, rounding to nearest even (as torch does); NaN stays NaN. */
  public static short floatToBf16(float v) {
    int bits = Float.floatToRawIntBits(v);
    if (Float.isNaN(v)) {
      return (short) ((bits >>> 16) | 0x40);
    }
    int rounding = 0x7fff + ((bits >>> 16) & 1);
    return (short) ((bits + rounding) >>> 16);
  }

  /** fp32 to IEEE half, rounding to nearest even, with subnormals, overflow to infinity. */
  public static short floatToF16(float v) {
    int bits = Float.floatToRawIntBits(v);
    int sign = (bits >>> 16) & 0x8000;
    int exp = (bits >>> 23) & 0xff;
    int mant = bits & 0x7fffff;
    if (exp == 0xff) {
      return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 : 0));
    }
    int e = exp - 127 + 15;
    if (e >= 0x1f) {
      return (short) (sign | 0x7c00);
    }
    if (e <= 0) {
      if (e < -10) {
        return (short) sign;
      }
      mant |= 0x800000;
      int shift = 14 - e;
      int half = mant >>> shift;
      int rest = mant & ((1 << shift) - 1);
      int mid = 1 << (shift - 1);
      if (rest > mid || (rest == mid && (half & 1) == 1)) {
        half++;
      }
      return (short) (sign | half);
    }
    int half = (e << 10) | (mant >>> 13);
    int rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1)) {
      half++; // may carry into the exponent, which is the correct rounding
    }
    return (short) (sign | half);
  }
}
