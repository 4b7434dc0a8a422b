package dev.freedave.model;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * A TorchScript archive (what torch.jit.save writes and torch.jit.load reads) of one module class
 * with no tensors: its source under {@code code/__torch__/}, and a pickled instance holding only plain
 * attributes. libtorch compiles the source when it loads the archive, so the archive is made from
 * the source on every load and no generated binary is ever kept.
 */
final class TorchScriptArchive {
  private static final String ARCHIVE = "archive/";

  private TorchScriptArchive() {}

  /**
   * @param module the source file's module name: the class is {@code __torch__.<module>.<className>}
   * @param attributes the instance's attributes (Boolean, Integer, Double or null), declared in the source
   */
  static byte[] of(String module, String className, String source, Map<String, Object> attributes) {
    Map<String, Object> state = new LinkedHashMap<>();
    state.put("training", false);
    state.put("_is_full_backward_hook", null);
    state.putAll(attributes);
    ByteArrayOutputStream zip = new ByteArrayOutputStream();
    try (ZipOutputStream z = new ZipOutputStream(zip)) {
      put(z, "data.pkl", instance("__torch__." + module, className, state));
      put(z, "code/__torch__/" + module + ".py", source.getBytes(StandardCharsets.UTF_8));
      put(z, "constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'}); // an empty tuple
      put(z, "version", "3\n".getBytes(StandardCharsets.US_ASCII));
      put(z, "byteorder", "little".getBytes(StandardCharsets.US_ASCII));
    } catch (IOException e) {
      throw new IllegalStateException("in-memory zip", e);
    }
    return zip.toByteArray();
  }

  /** Stored, not deflated, as torch.jit.save writes its records. */
  private static void put(ZipOutputStream z, String name, byte[] bytes) throws IOException {
    ZipEntry e = new ZipEntry(ARCHIVE + name);
    e.setMethod(ZipEntry.STORED);
    e.setSize(bytes.length);
    CRC32 crc = new CRC32();
    crc.update(bytes);
    e.setCrc(crc.getValue());
    z.putNextEntry(e);
    z.write(bytes);
    z.closeEntry();
  }

  /** Pickle protocol 2: {@code cls.__new__(cls)}, then its {@code __dict__} set to {@code state}. */
  private static byte[] instance(String module, String className, Map<String, Object> state) {
    ByteArrayOutputStream p = new ByteArrayOutputStream();
    p.write(0x80); // PROTO 2
    p.write(2);
    p.writeBytes(("c" + module + "\n" + className + "\n").getBytes(StandardCharsets.UTF_8)); // GLOBAL
    p.write(')'); // EMPTY_TUPLE
    p.write(0x81); // NEWOBJ
    p.write('}'); // EMPTY_DICT
    p.write('('); // MARK
    for (Map.Entry<String, Object> e : state.entrySet()) {
      string(p, e.getKey());
      Object v = e.getValue();
      if (v == null) {
        p.write('N');
      } else if (v instanceof Boolean b) {
        p.write(b ? 0x88 : 0x89); // NEWTRUE / NEWFALSE
      } else if (v instanceof Integer i) {
        p.write('J'); // BININT, little-endian
        for (int k = 0; k < 4; k++) {
          p.write((i >>> (8 * k)) & 0xff);
        }
      } else if (v instanceof Double d) {
        p.write('G'); // BINFLOAT, big-endian
        long bits = Double.doubleToLongBits(d);
        for (int k = 7; k >= 0; k--) {
          p.write((int) (bits >>> (8 * k)) & 0xff);
        }
      } else {
        throw new IllegalArgumentException("attribute " + e.getKey() + ": unsupported type " + v.getClass());
      }
    }
    p.write('u'); // SETITEMS
    p.write('b'); // BUILD
    p.write('.'); // STOP
    return p.toByteArray();
  }

  private static void string(ByteArrayOutputStream p, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    p.write('X'); // BINUNICODE, 4-byte little-endian length
    for (int k = 0; k < 4; k++) {
      p.write((b.length >>> (8 * k)) & 0xff);
    }
    p.writeBytes(b);
  }
}
