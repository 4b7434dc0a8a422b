package dev.freedave.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The model the job and the tools use when none is named: the trained arithmetic demo model packaged
 * on the classpath under {@code freedave/default-model/} (copied out once, since safetensors are
 * memory-mapped from disk; TRAINING.json there says how it was made).
 *
 * <p>The copy lives in a folder only this user can enter ({@code freedave-<user>}, mode 0700, under
 * the cache root), and a copy found there is used only when it holds exactly the packaged files,
 * byte for byte (SHA-256 against the classpath): a shared temp directory must never let someone
 * else's model be decoded under the name {@code default}.
 */
public final class DefaultModel {
  /** The model folder name that means "the packaged default model". */
  public static final String NAME = "default";
  static final String RESOURCE = "freedave/default-model/";
  private static final String[] FILES = {"config.json", "model.safetensors", "tokenizer.json", "TRAINING.json"};
  /** Bumped whenever the packaged weights change; an older copy is then left alone. */
  static final String VERSION = "arith-v1";
  private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rwx------");
  /** SHA-256 of each packaged file, read from the classpath once per JVM. */
  private static Map<String, String> packaged;

  private DefaultModel() {}

  /**
   * A folder holding the default model, extracted under {@code cacheRoot} on first use. Verified on
   * every call (hashing the 10 MB copy takes a few tens of ms, once per task), so a copy changed
   * after an earlier check is replaced too.
   */
  public static synchronized Path resolve(Path cacheRoot) {
    Path root = cacheRoot.toAbsolutePath().normalize();
    ClassLoader cl = DefaultModel.class.getClassLoader();
    if (cl.getResource(RESOURCE + "config.json") == null) {
      throw new ModelLoadException("this build carries no default model (" + RESOURCE + " on the classpath); "
          + "name a model folder");
    }
    try {
      if (packaged == null) {
        Map<String, String> sums = new HashMap<>();
        for (String f : FILES) {
          try (InputStream in = cl.getResourceAsStream(RESOURCE + f)) {
            sums.put(f, sha256(in));
          }
        }
        packaged = sums;
      }
      Path dir = privateFolder(root).resolve("default-model-" + VERSION);
      if (!holdsExactly(dir, packaged)) {
        extract(cl, dir);
        if (!holdsExactly(dir, packaged)) {
          throw new ModelLoadException("the default model extracted to " + dir + " does not match the packaged one");
        }
      }
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot extract the default model under " + root, e);
    }
  }

  public static Path resolve() {
    return resolve(Path.of(System.getProperty("java.io.tmpdir")));
  }

  /** {@link #NAME} resolved to the extracted folder; any other name as an absolute path. */
  public static Path resolve(String dir) {
    return NAME.equals(dir) ? resolve() : Path.of(dir).toAbsolutePath().normalize();
  }

  /**
   * {@code root/freedave-<user>}, created 0700; when that name is taken by something this user does
   * not own alone (a link, another owner, group or world access), a fresh private folder instead.
   */
  private static Path privateFolder(Path root) throws IOException {
    Path dir = root.resolve("freedave-" + System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9._-]", "_"));
    boolean posix = Files.getFileStore(root).supportsFileAttributeView("posix");
    try {
      if (posix) {
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
      } else {
        Files.createDirectory(dir);
      }
      return dir;
    } catch (FileAlreadyExistsException taken) {
      if (!posix || ownedPrivately(dir)) {
        return dir;
      }
      return posix ? Files.createTempDirectory(root, "freedave-", PosixFilePermissions.asFileAttribute(OWNER_ONLY))
          : Files.createTempDirectory(root, "freedave-");
    }
  }

  private static boolean ownedPrivately(Path dir) throws IOException {
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      return false;
    }
    String owner = Files.getOwner(dir, LinkOption.NOFOLLOW_LINKS).getName();
    return owner.equals(System.getProperty("user.name"))
        && OWNER_ONLY.containsAll(Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS));
  }

  /** Whether {@code dir} is a plain folder holding exactly the packaged files, each with its hash. */
  private static boolean holdsExactly(Path dir, Map<String, String> packaged) throws IOException {
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      return false;
    }
    Set<String> names = new TreeSet<>();
    try (Stream<Path> s = Files.list(dir)) {
      s.forEach(p -> names.add(p.getFileName().toString()));
    }
    if (!names.equals(new TreeSet<>(Arrays.asList(FILES)))) {
      return false;
    }
    for (String f : FILES) {
      Path p = dir.resolve(f);
      if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
        return false;
      }
      try (InputStream in = Files.newInputStream(p)) {
        if (!sha256(in).equals(packaged.get(f))) {
          return false;
        }
      }
    }
    return true;
  }

  /** Writes a fresh copy next to {@code dir} and moves it into place, replacing whatever was there. */
  private static void extract(ClassLoader cl, Path dir) throws IOException {
    Path tmp = Files.createTempDirectory(dir.getParent(), "default-model");
    for (String f : FILES) {
      try (InputStream in = cl.getResourceAsStream(RESOURCE + f)) {
        Files.copy(in, tmp.resolve(f), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      deleteTree(dir);
    }
    try {
      Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
    } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException raced) {
      deleteTree(tmp); // another JVM of this user put its copy there first; the caller verifies it
    }
  }

  private static void deleteTree(Path p) throws IOException {
    if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
      try (Stream<Path> s = Files.list(p)) {
        for (Path c : (Iterable<Path>) s::iterator) {
          deleteTree(c);
        }
      }
    }
    Files.deleteIfExists(p);
  }

  private static String sha256(InputStream in) throws IOException {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      try (DigestInputStream d = new DigestInputStream(in, md)) {
        d.transferTo(java.io.OutputStream.nullOutputStream());
      }
      return java.util.HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
