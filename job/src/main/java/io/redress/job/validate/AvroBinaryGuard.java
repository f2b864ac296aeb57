package io.redress.job.validate;

import java.util.List;
import org.apache.avro.Schema;

/**
 * Walks Avro binary against a schema checking every length and count against the bytes that
 * remain, before Avro's own reader allocates anything. Avro trusts a length prefix and
 * allocates it first, so one fuzzed varint (a 2 GB string) would cost the TaskManager its heap;
 * here it is just a bad record.
 */
final class AvroBinaryGuard {

  private final byte[] buf;
  private int pos;

  private AvroBinaryGuard(byte[] buf) {
    this.buf = buf;
  }

  /**
   * Checks that {@code bytes} are one well-formed datum of {@code schema} with nothing after it.
   *
   * @return null when well-formed, else what is wrong
   */
  static String check(Schema schema, byte[] bytes) {
    AvroBinaryGuard g = new AvroBinaryGuard(bytes);
    try {
      g.walk(schema, 0);
    } catch (IllegalStateException e) {
      return e.getMessage();
    }
    if (g.pos != bytes.length) {
      return (bytes.length - g.pos) + " trailing bytes after the record";
    }
    return null;
  }

  private void walk(Schema s, int depth) {
    if (depth > 64) {
      throw new IllegalStateException("schema nests too deeply");
    }
    switch (s.getType()) {
      case NULL -> { }
      case BOOLEAN -> {
        int b = readByte();
        if (b > 1) {
          throw new IllegalStateException("bad boolean byte " + b + " at " + (pos - 1));
        }
      }
      case INT, LONG -> readVarLong();
      case FLOAT -> skip(4);
      case DOUBLE -> skip(8);
      case STRING, BYTES -> skip(length("string"));
      case FIXED -> skip(s.getFixedSize());
      case ENUM -> {
        long i = readVarLong();
        if (i < 0 || i >= s.getEnumSymbols().size()) {
          throw new IllegalStateException("enum " + s.getName() + " index " + i
              + " out of range");
        }
      }
      case UNION -> {
        long i = readVarLong();
        List<Schema> types = s.getTypes();
        if (i < 0 || i >= types.size()) {
          throw new IllegalStateException("union branch " + i + " out of range");
        }
        walk(types.get((int) i), depth + 1);
      }
      case RECORD -> {
        for (Schema.Field f : s.getFields()) {
          walk(f.schema(), depth + 1);
        }
      }
      case ARRAY -> blocks(s.getElementType(), false, depth);
      case MAP -> blocks(s.getValueType(), true, depth);
      default -> throw new IllegalStateException("unsupported type " + s.getType());
    }
  }

  private void blocks(Schema item, boolean map, int depth) {
    while (true) {
      long count = readVarLong();
      if (count == 0) {
        return;
      }
      if (count < 0) {
        count = -count;
        length("block size"); // block byte size, present when the count is negative
      }
      // Every item of our schemas takes at least one byte, so a count above the remaining bytes
      // cannot be genuine.
      if (count > buf.length - pos) {
        throw new IllegalStateException("collection of " + count + " items in "
            + (buf.length - pos) + " remaining bytes");
      }
      for (long i = 0; i < count; i++) {
        if (map) {
          skip(length("map key"));
        }
        walk(item, depth + 1);
      }
    }
  }

  private int length(String what) {
    long n = readVarLong();
    if (n < 0 || n > buf.length - pos) {
      throw new IllegalStateException(what + " length " + n + " at byte " + pos + " exceeds the "
          + (buf.length - pos) + " remaining bytes");
    }
    return (int) n;
  }

  private void skip(int n) {
    if (n > buf.length - pos) {
      throw new IllegalStateException("record truncated at byte " + pos);
    }
    pos += n;
  }

  private int readByte() {
    if (pos >= buf.length) {
      throw new IllegalStateException("record truncated at byte " + pos);
    }
    return buf[pos++] & 0xff;
  }

  private long readVarLong() {
    long raw = 0;
    int shift = 0;
    while (true) {
      int b = readByte();
      raw |= (long) (b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        break;
      }
      shift += 7;
      if (shift > 63) {
        throw new IllegalStateException("malformed varint at byte " + pos);
      }
    }
    return (raw >>> 1) ^ -(raw & 1); // zig-zag
  }
}
