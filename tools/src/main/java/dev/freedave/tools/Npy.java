package dev.freedave.tools;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** NumPy {@code .npy} files (format 1.0/2.0, C order, little-endian int64 / int32 / float32). */
public final class Npy {
  private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']+)'");
  private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
  private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

  private Npy() {}

  /** An array read from disk: integer kinds in {@code longs}, float32 in {@code floats}. */
  public record Array(String descr, long[] shape, long[] longs, float[] floats) {
    public int dim(int i) {
      return (int) shape[i];
    }
  }

  public static Array read(Path file) throws IOException {
    byte[] all;
    try (InputStream in = Files.newInputStream(file)) {
      all = in.readAllBytes();
    }
    ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
    if (all.length < 10 || (all[0] & 0xff) != 0x93 || !new String(all, 1, 5, StandardCharsets.US_ASCII).equals("NUMPY")) {
      throw new IOException("not a .npy file: " + file);
    }
    int major = all[6];
    int headerLen;
    int offset;
    if (major == 1) {
      headerLen = b.getShort(8) & 0xffff;
      offset = 10;
    } else {
      headerLen = b.getInt(8);
      offset = 12;
    }
    String header = new String(all, offset, headerLen, StandardCharsets.ISO_8859_1);
    Matcher d = DESCR.matcher(header);
    Matcher f = FORTRAN.matcher(header);
    Matcher s = SHAPE.matcher(header);
    if (!d.find() || !f.find() || !s.find()) {
      throw new IOException("unreadable .npy header in " + file + ": " + header);
    }
    if (f.group(1).equals("True")) {
      throw new IOException("Fortran-ordered .npy is not supported: " + file);
    }
    String[] parts = s.group(1).split(",");
    long[] shape = java.util.Arrays.stream(parts).map(String::trim).filter(p -> !p.isEmpty())
        .mapToLong(Long::parseLong).toArray();
    long n = 1;
    for (long x : shape) {
      n *= x;
    }
    b.position(offset + headerLen);
    String descr = d.group(1);
    switch (descr) {
      case "<i8" -> {
        long[] v = new long[(int) n];
        b.asLongBuffer().get(v);
        return new Array(descr, shape, v, null);
      }
      case "|u1" -> {
        long[] v = new long[(int) n];
        for (int i = 0; i < n; i++) {
          v[i] = b.get() & 0xff;
        }
        return new Array(descr, shape, v, null);
      }
      case "<i4" -> {
        long[] v = new long[(int) n];
        for (int i = 0; i < n; i++) {
          v[i] = b.getInt();
        }
        return new Array(descr, shape, v, null);
      }
      case "<f4" -> {
        float[] v = new float[(int) n];
        b.asFloatBuffer().get(v);
        return new Array(descr, shape, null, v);
      }
      default -> throw new IOException("unsupported .npy dtype " + descr + " in " + file + " (int64, int32, uint8, float32)");
    }
  }

  public static void writeFloats(Path file, long[] shape, float[] data) throws IOException {
    ByteBuffer body = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    body.asFloatBuffer().put(data);
    write(file, "<f4", shape, body.array());
  }

  /** Unsigned bytes ({@code |u1}): compact token ids for vocabularies under 256. */
  public static void writeBytes(Path file, long[] shape, byte[] data) throws IOException {
    write(file, "|u1", shape, data);
  }

  private static void write(Path file, String descr, long[] shape, byte[] body) throws IOException {
    StringBuilder sh = new StringBuilder();
    for (long x : shape) {
      sh.append(x).append(", ");
    }
    String dims = shape.length == 1 ? sh.toString().trim() : sh.toString().replaceAll(", $", "");
    String header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
    int total = 10 + header.length() + 1;
    header = header + " ".repeat((64 - total % 64) % 64) + "\n";
    try (OutputStream out = Files.newOutputStream(file)) {
      out.write(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
      out.write(ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort((short) header.length()).array());
      out.write(header.getBytes(StandardCharsets.ISO_8859_1));
      out.write(body);
    }
  }
}
