package dev.freedave.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/** Fixture folders and assertions the tests of several modules share. */
public final class Fixtures {
  private Fixtures() {}

  /** The largest absolute difference between two arrays of equal length. */
  public static float maxAbsDiff(float[] a, float[] b) {
    if (a.length != b.length) {
      throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
    }
    float m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs(a[i] - b[i]));
    }
    return m;
  }

  /**
   * A fixture folder of the test kit (udf/src/test/resources) as a folder on disk: in place when the
   * test classes are a directory, copied out under {@code tmp} when they come from the test-jar.
   */
  public static Path folder(String resource, Path tmp) {
    URL url = Fixtures.class.getResource("/" + resource);
    if (url == null) {
      throw new IllegalArgumentException("no fixture " + resource);
    }
    try {
      if (url.getProtocol().equals("file")) {
        return Path.of(url.toURI());
      }
      Path out = tmp.resolve(resource);
      JarFile jar = ((JarURLConnection) url.openConnection()).getJarFile();
      for (Enumeration<JarEntry> e = jar.entries(); e.hasMoreElements(); ) {
        JarEntry entry = e.nextElement();
        if (!entry.isDirectory() && entry.getName().startsWith(resource + "/")) {
          Path file = tmp.resolve(entry.getName());
          Files.createDirectories(file.getParent());
          try (InputStream in = jar.getInputStream(entry)) {
            Files.copy(in, file);
          }
        }
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }
}
