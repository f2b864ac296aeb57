package io.redress.inference.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Read-only access to the tensors of a model directory's safetensors files.
 *
 * <p>Accepts one {@code model.safetensors}, a sharded checkpoint described by
 * {@code model.safetensors.index.json}, or any set of {@code *.safetensors} files. Headers are
 * validated up front (offsets inside the file, sizes matching dtype x shape, no overlaps), so a
 * truncated download or a missing shard fails at open with the file and tensor named instead
 * of at the first forward pass. Data is memory-mapped per tensor in chunks under 2 GB, which
 * is how files (and tensors) larger than a Java buffer are read.
 */
public final class SafeTensors implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();
  /** Largest chunk mapped at once; a multiple of every element size. */
  private static final long MAP_CHUNK = 1L << 30;
  /** A header larger than this is corrupt, not a model (the format caps it at 100 MB). */
  private static final long MAX_HEADER = 100L << 20;

  private final Map<String, TensorInfo> tensors;
  private final Map<Path, FileChannel> channels;

  private SafeTensors(Map<String, TensorInfo> tensors, Map<Path, FileChannel> channels) {
    this.tensors = tensors;
    this.channels = channels;
  }

  /**
   * Opens every weight file of a model directory.
   *
   * @throws ModelLoadException naming the file (and tensor) when a shard is missing, a file is
   *     truncated or its header is invalid
   */
  public static SafeTensors open(Path modelDir) {
    List<Path> files = weightFiles(modelDir);
    Map<String, TensorInfo> tensors = new TreeMap<>();
    Map<Path, FileChannel> channels = new LinkedHashMap<>();
    try {
      for (Path file : files) {
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        channels.put(file, channel);
        for (TensorInfo info : readHeader(file, channel)) {
          TensorInfo previous = tensors.put(info.name(), info);
          if (previous != null) {
            throw new ModelLoadException("tensor '" + info.name() + "' appears in both "
                + previous.file() + " and " + file + ": remove the stray file from the model"
                + " directory");
          }
        }
      }
    } catch (IOException e) {
      closeAll(channels);
      throw new ModelLoadException("cannot read model weights in " + modelDir + ": " + e, e);
    } catch (RuntimeException e) {
      closeAll(channels);
      throw e;
    }
    checkIndex(modelDir, tensors);
    return new SafeTensors(Collections.unmodifiableMap(tensors), channels);
  }

  /** Every tensor name, sorted. */
  public Set<String> names() {
    return tensors.keySet();
  }

  /** Whether a tensor of that name exists. */
  public boolean contains(String name) {
    return tensors.containsKey(name);
  }

  /**
   * Where a tensor lives.
   *
   * @throws ModelLoadException when it is missing
   */
  public TensorInfo info(String name) {
    TensorInfo info = tensors.get(name);
    if (info == null) {
      throw new ModelLoadException("tensor '" + name + "' is missing from the weights ("
          + filesText() + "): the checkpoint is incomplete or is not a Qwen2 model");
    }
    return info;
  }

  /**
   * Reads a float tensor, checking its shape, and converts it to fp32 (exact for bf16/f16).
   *
   * @throws ModelLoadException when it is missing, not a float type, or has another shape
   */
  public float[] floats(String name, long... expectedShape) {
    TensorInfo info = info(name);
    if (!info.hasShape(expectedShape)) {
      throw new ModelLoadException("tensor '" + name + "' in " + info.file() + " has shape "
          + info.shapeText() + " but config.json implies " + java.util.Arrays.toString(
              expectedShape) + ": the weights and config.json do not belong together");
    }
    if (!info.dtype().isFloat()) {
      throw new ModelLoadException("tensor '" + name + "' in " + info.file() + " has dtype "
          + info.dtype() + "; a floating-point tensor (BF16, F16, F32) is expected here");
    }
    if (info.numel() > Integer.MAX_VALUE - 8) {
      throw new ModelLoadException("tensor '" + name + "' has " + info.numel()
          + " elements, more than one Java array holds; use the CUDA runner for this model");
    }
    float[] out = new float[(int) info.numel()];
    int[] at = {0};
    forEachChunk(name, chunk -> at[0] = convert(info.dtype(), chunk, out, at[0]));
    return out;
  }

  /**
   * Reads an int32 tensor (GPTQ's packed weights, zero points and g_idx), checking its shape.
   *
   * @throws ModelLoadException when it is missing, not I32, or has another shape
   */
  public int[] ints(String name, long... expectedShape) {
    TensorInfo info = info(name);
    if (!info.hasShape(expectedShape)) {
      throw new ModelLoadException("tensor '" + name + "' in " + info.file() + " has shape "
          + info.shapeText() + " but config.json implies " + java.util.Arrays.toString(
              expectedShape) + ": the weights and config.json do not belong together");
    }
    if (info.dtype() != DType.I32) {
      throw new ModelLoadException("tensor '" + name + "' in " + info.file() + " has dtype "
          + info.dtype() + "; GPTQ stores it as I32");
    }
    int[] out = new int[(int) info.numel()];
    int[] at = {0};
    forEachChunk(name, chunk -> {
      java.nio.IntBuffer ints = chunk.order(java.nio.ByteOrder.LITTLE_ENDIAN).asIntBuffer();
      int n = ints.remaining();
      ints.get(out, at[0], n);
      at[0] += n;
    });
    return out;
  }

  /**
   * Passes the raw little-endian bytes of a tensor to {@code consumer} in order, as read-only
   * buffers of at most 1 GB (each a whole number of elements). Used to upload to a device.
   */
  public void forEachChunk(String name, Consumer<ByteBuffer> consumer) {
    TensorInfo info = info(name);
    FileChannel channel = channels.get(info.file());
    try {
      for (long done = 0; done < info.byteSize(); done += MAP_CHUNK) {
        long size = Math.min(MAP_CHUNK, info.byteSize() - done);
        MappedByteBuffer map =
            channel.map(FileChannel.MapMode.READ_ONLY, info.offset() + done, size);
        consumer.accept(map.order(ByteOrder.LITTLE_ENDIAN));
      }
    } catch (IOException e) {
      throw new ModelLoadException("cannot read tensor '" + name + "' from " + info.file()
          + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    closeAll(channels);
  }

  private static int convert(DType dtype, ByteBuffer chunk, float[] out, int at) {
    switch (dtype) {
      case F32 -> {
        int n = chunk.remaining() / 4;
        chunk.asFloatBuffer().get(out, at, n);
        return at + n;
      }
      case BF16 -> {
        int n = chunk.remaining() / 2;
        for (int i = 0; i < n; i++) {
          out[at + i] = bf16ToFloat(chunk.getShort(2 * i));
        }
        return at + n;
      }
      case F16 -> {
        int n = chunk.remaining() / 2;
        for (int i = 0; i < n; i++) {
          out[at + i] = f16ToFloat(chunk.getShort(2 * i));
        }
        return at + n;
      }
      default -> throw new IllegalArgumentException("not a float dtype: " + dtype);
    }
  }

  /** bf16 is the upper half of an fp32. */
  public static float bf16ToFloat(short bits) {
    return Float.intBitsToFloat((bits & 0xffff) << 16);
  }

  /** IEEE half to fp32, subnormals, infinities and NaN included (Java 17 has no built-in). */
  public static float f16ToFloat(short bits) {
    int h = bits & 0xffff;
    int sign = (h & 0x8000) << 16;
    int exp = (h >>> 10) & 0x1f;
    int mant = h & 0x3ff;
    if (exp == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    }
    if (exp == 0) {
      float magnitude = mant * 0x1p-24f; // subnormal: mant * 2^-24, exact in fp32
      return sign == 0 ? magnitude : -magnitude;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }

  // ---- opening -------------------------------------------------------------------------------

  private static List<Path> weightFiles(Path modelDir) {
    if (!Files.isDirectory(modelDir)) {
      throw new ModelLoadException("model directory " + modelDir + " does not exist or is not a"
          + " directory: pass --model a directory in HF layout (config.json, *.safetensors,"
          + " tokenizer.json)");
    }
    Path index = modelDir.resolve("model.safetensors.index.json");
    if (Files.isRegularFile(index)) {
      JsonNode map = ModelConfig.readJson(index, "re-download the checkpoint's index file")
          .path("weight_map");
      if (!map.isObject() || map.isEmpty()) {
        throw new ModelLoadException(index + " has no \"weight_map\": re-download it");
      }
      List<Path> files = new ArrayList<>();
      map.fields().forEachRemaining(e -> {
        Path shard = modelDir.resolve(e.getValue().asText());
        if (!files.contains(shard)) {
          files.add(shard);
        }
      });
      for (Path shard : files) {
        if (!Files.isRegularFile(shard)) {
          throw new ModelLoadException("shard " + shard.getFileName() + " listed in " + index
              + " is missing: download every shard into " + modelDir);
        }
      }
      return files;
    }
    Path single = modelDir.resolve("model.safetensors");
    if (Files.isRegularFile(single)) {
      return List.of(single);
    }
    try (Stream<Path> list = Files.list(modelDir)) {
      List<Path> files = list.filter(p -> p.getFileName().toString().endsWith(".safetensors"))
          .sorted().toList();
      if (files.isEmpty()) {
        throw new ModelLoadException("no *.safetensors weights in " + modelDir + ": Redress"
            + " reads HF safetensors checkpoints (convert .bin/.pth weights with transformers'"
            + " save_pretrained(safe_serialization=True))");
      }
      return files;
    } catch (IOException e) {
      throw new ModelLoadException("cannot list " + modelDir + ": " + e.getMessage(), e);
    }
  }

  private static List<TensorInfo> readHeader(Path file, FileChannel channel) throws IOException {
    long fileSize = channel.size();
    String redownload = ": the file is damaged or truncated; download it again";
    if (fileSize < 8) {
      throw new ModelLoadException(file + " is " + fileSize + " bytes, too short for a"
          + " safetensors header" + redownload);
    }
    ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    channel.read(lengthBytes, 0);
    long headerLength = lengthBytes.getLong(0);
    if (headerLength <= 0 || headerLength > MAX_HEADER || 8 + headerLength > fileSize) {
      throw new ModelLoadException(file + " has an invalid safetensors header length "
          + headerLength + " (file size " + fileSize + ")" + redownload);
    }
    ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
    while (headerBytes.hasRemaining()) {
      if (channel.read(headerBytes, 8 + headerBytes.position()) < 0) {
        throw new ModelLoadException(file + ": header ends early" + redownload);
      }
    }
    JsonNode header;
    try {
      header = JSON.readTree(headerBytes.array());
    } catch (IOException e) {
      throw new ModelLoadException(file + ": safetensors header is not valid JSON" + redownload);
    }
    long dataStart = 8 + headerLength;
    List<TensorInfo> infos = new ArrayList<>();
    var fields = header.fields();
    while (fields.hasNext()) {
      var entry = fields.next();
      if (entry.getKey().equals("__metadata__")) {
        continue;
      }
      infos.add(tensorInfo(file, entry.getKey(), entry.getValue(), dataStart, fileSize));
    }
    checkNoOverlap(file, infos);
    return infos;
  }

  private static TensorInfo tensorInfo(
      Path file, String name, JsonNode node, long dataStart, long fileSize) {
    String where = file + ", tensor '" + name + "'";
    String dtypeName = node.path("dtype").asText();
    DType dtype = DType.fromSafetensors(dtypeName).orElseThrow(() -> new ModelLoadException(
        where + ": dtype '" + dtypeName + "' is not supported (BF16, F16, F32, I32, I64, U8,"
            + " I8 are); convert the checkpoint to bf16"));
    JsonNode shapeNode = node.path("shape");
    JsonNode offsets = node.path("data_offsets");
    if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
      throw new ModelLoadException(where + ": header entry lacks shape or data_offsets; the"
          + " file is not a valid safetensors file");
    }
    long[] shape = new long[shapeNode.size()];
    long numel = 1;
    for (int i = 0; i < shape.length; i++) {
      shape[i] = shapeNode.get(i).asLong();
      if (shape[i] < 0) {
        throw new ModelLoadException(where + ": negative dimension in shape " + shapeNode);
      }
      numel = Math.multiplyExact(numel, shape[i]);
    }
    long begin = offsets.get(0).asLong();
    long end = offsets.get(1).asLong();
    if (begin < 0 || end < begin || end - begin != numel * dtype.bytes()) {
      throw new ModelLoadException(where + ": data_offsets " + offsets + " do not match "
          + dtype + " x " + shapeNode + "; the file is corrupt");
    }
    if (dataStart + end > fileSize) {
      throw new ModelLoadException(where + " ends at byte " + (dataStart + end)
          + " but the file has only " + fileSize + " bytes: the file is truncated; download it"
          + " again");
    }
    return new TensorInfo(name, dtype, shape, file, dataStart + begin, end - begin);
  }

  private static void checkNoOverlap(Path file, List<TensorInfo> infos) {
    List<TensorInfo> sorted = new ArrayList<>(infos);
    sorted.sort((a, b) -> Long.compare(a.offset(), b.offset()));
    for (int i = 1; i < sorted.size(); i++) {
      TensorInfo prev = sorted.get(i - 1);
      if (prev.offset() + prev.byteSize() > sorted.get(i).offset()) {
        throw new ModelLoadException(file + ": tensors '" + prev.name() + "' and '"
            + sorted.get(i).name() + "' overlap; the file is corrupt");
      }
    }
  }

  private static void checkIndex(Path modelDir, Map<String, TensorInfo> tensors) {
    Path index = modelDir.resolve("model.safetensors.index.json");
    if (!Files.isRegularFile(index)) {
      return;
    }
    var map = ModelConfig.readJson(index, "re-download it").path("weight_map").fields();
    while (map.hasNext()) {
      var e = map.next();
      TensorInfo info = tensors.get(e.getKey());
      if (info == null || !info.file().getFileName().toString().equals(e.getValue().asText())) {
        throw new ModelLoadException(index + " says tensor '" + e.getKey() + "' is in "
            + e.getValue().asText() + ", but it is not there: the shards do not match the"
            + " index; download the checkpoint again");
      }
    }
  }

  private String filesText() {
    return channels.size() == 1 ? channels.keySet().iterator().next().toString()
        : channels.size() + " files in " + channels.keySet().iterator().next().getParent();
  }

  private static void closeAll(Map<Path, FileChannel> channels) {
    for (FileChannel channel : channels.values()) {
      try {
        channel.close();
      } catch (IOException ignored) {
        // Read-only channels: nothing to flush, nothing to lose.
      }
    }
  }
}
