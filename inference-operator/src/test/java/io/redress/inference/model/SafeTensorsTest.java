package io.redress.inference.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {

  @TempDir Path dir;

  @Test
  void readsEveryFloatDtypeExactly() throws IOException {
    // Values exactly representable in bf16 and f16, subnormals and signs included.
    float[] values = {0f, -0f, 1f, -2.5f, 0.15625f, 65504f, 6.1035156e-5f, 5.9604645e-8f, -3f};
    new SafeTensorsWriter()
        .add("a", DType.F32, values, 3, 3)
        .add("b", DType.BF16, new float[] {1f, -2.5f, 0.15625f, 3.0e38f}, 4)
        .add("c", DType.F16, values, 9)
        .write(dir.resolve("model.safetensors"));
    try (SafeTensors st = SafeTensors.open(dir)) {
      assertThat(st.names()).containsExactly("a", "b", "c");
      assertThat(st.floats("a", 3, 3)).containsExactly(values);
      assertThat(st.info("b").dtype()).isEqualTo(DType.BF16);
      assertThat(st.floats("b", 4)[0]).isEqualTo(1f);
      assertThat(st.floats("b", 4)[1]).isEqualTo(-2.5f);
      assertThat(st.floats("c", 9)).containsExactly(values);
    }
  }

  @Test
  void bf16RoundsToNearestEven() {
    // 1 + 2^-8 lies exactly between two bf16 values (1 and 1 + 2^-7): ties go to even (1).
    assertThat(SafeTensors.bf16ToFloat(SafeTensorsWriter.floatToBf16(1f + 0x1p-8f)))
        .isEqualTo(1f);
    assertThat(SafeTensors.bf16ToFloat(SafeTensorsWriter.floatToBf16(1f + 0x1.8p-8f)))
        .isEqualTo(1f + 0x1p-7f);
    assertThat(SafeTensors.f16ToFloat(SafeTensorsWriter.floatToF16(1e6f)))
        .isEqualTo(Float.POSITIVE_INFINITY);
  }

  @Test
  void readsShardedCheckpointsThroughTheIndex() throws IOException {
    new SafeTensorsWriter().add("x", DType.F32, new float[] {1, 2}, 2)
        .write(dir.resolve("model-00001-of-00002.safetensors"));
    new SafeTensorsWriter().add("y", DType.F32, new float[] {3}, 1)
        .write(dir.resolve("model-00002-of-00002.safetensors"));
    Files.writeString(dir.resolve("model.safetensors.index.json"), """
        {"metadata": {"total_size": 12}, "weight_map": {
          "x": "model-00001-of-00002.safetensors", "y": "model-00002-of-00002.safetensors"}}
        """);
    try (SafeTensors st = SafeTensors.open(dir)) {
      assertThat(st.floats("x", 2)).containsExactly(1f, 2f);
      assertThat(st.floats("y", 1)).containsExactly(3f);
    }
  }

  @Test
  void missingShardIsNamed() throws IOException {
    new SafeTensorsWriter().add("x", DType.F32, new float[] {1}, 1)
        .write(dir.resolve("model-00001-of-00002.safetensors"));
    Files.writeString(dir.resolve("model.safetensors.index.json"), """
        {"weight_map": {"x": "model-00001-of-00002.safetensors",
                        "y": "model-00002-of-00002.safetensors"}}
        """);
    assertThatThrownBy(() -> SafeTensors.open(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("model-00002-of-00002.safetensors")
        .hasMessageContaining("missing")
        .hasMessageContaining("download");
  }

  @Test
  void truncatedFileNamesTheFileAndTensor() throws IOException {
    Path file = dir.resolve("model.safetensors");
    new SafeTensorsWriter().add("first", DType.F32, new float[16], 16)
        .add("second", DType.F32, new float[16], 16).write(file);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.truncate(ch.size() - 10);
    }
    assertThatThrownBy(() -> SafeTensors.open(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("'second'")
        .hasMessageContaining("truncated");
  }

  @Test
  void garbageHeaderIsRejected() throws IOException {
    Files.write(dir.resolve("model.safetensors"), "not a safetensors file at all"
        .getBytes(StandardCharsets.UTF_8));
    assertThatThrownBy(() -> SafeTensors.open(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("model.safetensors")
        .hasMessageContaining("header");
  }

  @Test
  void missingTensorAndWrongShapeAreNamed() throws IOException {
    new SafeTensorsWriter().add("w", DType.BF16, new float[6], 2, 3)
        .write(dir.resolve("model.safetensors"));
    try (SafeTensors st = SafeTensors.open(dir)) {
      assertThatThrownBy(() -> st.floats("v", 2, 3))
          .isInstanceOf(ModelLoadException.class)
          .hasMessageContaining("'v'").hasMessageContaining("missing");
      assertThatThrownBy(() -> st.floats("w", 3, 2))
          .isInstanceOf(ModelLoadException.class)
          .hasMessageContaining("'w'").hasMessageContaining("[2, 3]")
          .hasMessageContaining("[3, 2]");
    }
  }

  @Test
  void noWeightsAtAll() {
    assertThatThrownBy(() -> SafeTensors.open(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("no *.safetensors");
    assertThatThrownBy(() -> SafeTensors.open(dir.resolve("absent")))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("does not exist");
  }

  /**
   * A tensor that starts beyond 2 GB and spans the 2^31 boundary: such files are read by
   * mapping per tensor. The file is sparse, so it costs no disk space.
   */
  @Test
  void readsTensorsBeyondTwoGigabytes() throws IOException {
    long gap = (1L << 31) - 64; // padding tensor of U8 so "far" straddles byte 2^31
    String header = "{\"pad\":{\"dtype\":\"U8\",\"shape\":[" + gap + "],\"data_offsets\":[0,"
        + gap + "]},\"far\":{\"dtype\":\"F32\",\"shape\":[64],\"data_offsets\":[" + gap + ","
        + (gap + 256) + "]}}";
    byte[] json = header.getBytes(StandardCharsets.UTF_8);
    Path file = dir.resolve("model.safetensors");
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      ByteBuffer head = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      head.putLong(json.length);
      raf.write(head.array());
      raf.write(json);
      ByteBuffer data = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < 64; i++) {
        data.putFloat(i * 0.5f);
      }
      raf.seek(8 + json.length + gap);
      raf.write(data.array());
    }
    try (SafeTensors st = SafeTensors.open(dir)) {
      assertThat(st.info("far").offset()).isGreaterThan(Integer.MAX_VALUE - 1000L);
      float[] far = st.floats("far", 64);
      for (int i = 0; i < 64; i++) {
        assertThat(far[i]).isEqualTo(i * 0.5f);
      }
    }
  }
}
