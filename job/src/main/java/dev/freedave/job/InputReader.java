package dev.freedave.job;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.not;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import scala.Tuple2;

/**
 * Reads any supported input into {@link PromptRecord#SCHEMA} rows: JSON Lines line by line
 * ({@link JsonLines}), CSV file by file ({@link CsvRecords}), Parquet column by column with its types
 * checked. What it refuses, it refuses on the driver before any decoding, naming the file or column.
 */
final class InputReader {
  private InputReader() {}

  /** The malformed lines or records kept as examples in the summary. */
  static final int EXAMPLES = 5;

  /**
   * @param rows one row per input row, (id, prompt, answer, seed, input_error, input_hash), cached
   * @param malformed lines or records that are no row
   * @param malformedExamples where and why, for the first few of them
   */
  record Input(Dataset<Row> rows, long malformed, List<String> malformedExamples) {}

  static Input read(SparkSession spark, JobConfig cfg) throws IOException {
    String path = cfg.inputPath();
    if (path.isBlank()) {
      path = samplePrompts().toString();
    }
    String format = cfg.inputFormat().equals("auto") ? formatOf(path) : cfg.inputFormat();
    PromptRecord.Fields fields = new PromptRecord.Fields(cfg.idColumn(), cfg.promptColumn(), cfg.answerColumn(),
        cfg.seedColumn());
    Dataset<Row> all = switch (format) {
      case "json" -> json(spark, path, fields);
      case "csv" -> csv(spark, path, fields);
      case "parquet" -> parquet(spark, path, fields);
      default -> throw new IllegalArgumentException("input.format must be auto, json, parquet or csv, got " + format);
    };
    all = all.cache();
    Dataset<Row> bad = all.where(col("malformed").isNotNull());
    long malformed = bad.count();
    List<String> examples = bad.select("malformed").limit(EXAMPLES).as(Encoders.STRING()).collectAsList();
    Dataset<Row> rows = all.where(col("malformed").isNull()).drop("malformed").cache();
    long total = rows.count();
    all.unpersist();
    if (total == 0) {
      rows.unpersist();
      throw new IllegalArgumentException(malformed == 0 ? "input " + path + " holds no rows"
          : "input " + path + ": none of its " + malformed + " " + (format.equals("csv") ? "records" : "lines")
          + " can be read (" + examples.get(0) + ")" + (format.equals("json") ? "; the job reads JSON Lines, one "
          + "object per line: a pretty-printed file or a JSON array must be rewritten first (e.g. jq -c '.[]')" : ""));
    }
    long withPrompt = rows.where(col("input_error").isNull()
        .or(not(col("input_error").startsWith(PromptRecord.NO_PROMPT_FIELD)))).count();
    if (withPrompt == 0) {
      String first = rows.select("input_error").first().getString(0);
      rows.unpersist();
      throw new IllegalArgumentException("input " + path + ": no row has the prompt field '" + cfg.promptColumn()
          + "' (" + first.substring(PromptRecord.NO_PROMPT_FIELD.length()) + "); set input.prompt-column");
    }
    Dataset<Row> repeated = rows.groupBy("id").count().where(col("count").gt(1));
    long dups = repeated.count();
    if (dups > 0) {
      List<String> some = repeated.select("id").limit(3).as(Encoders.STRING()).collectAsList();
      rows.unpersist();
      throw new IllegalArgumentException("input " + path + " has " + dups + " ids that occur more than once (" + some
          + "); ids must be unique so that every row is written exactly once per config");
    }
    return new Input(rows, malformed, examples);
  }

  private static Path samplePrompts() throws IOException {
    Path tmp = Files.createTempFile("freedave-samples", ".jsonl");
    try (InputStream in = InputReader.class.getResourceAsStream("/freedave/sample-prompts.jsonl")) {
      Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
    }
    tmp.toFile().deleteOnExit();
    return tmp;
  }

  /** Line by line; a malformed line is named by its file and its text (Spark's line reader has no line numbers). */
  private static Dataset<Row> json(SparkSession spark, String path, PromptRecord.Fields f) {
    Dataset<Row> lines = spark.read().text(path).select(col("value"), col("_metadata.file_path"));
    return lines.mapPartitions((MapPartitionsFunction<Row, Row>) it -> {
      List<Row> out = new ArrayList<>();
      while (it.hasNext()) {
        Row r = it.next();
        PromptRecord p = JsonLines.parse(r.getString(0), r.getString(1), f);
        if (p != null) {
          out.add(p.toRow());
        }
      }
      return out.iterator();
    }, Encoders.row(PromptRecord.SCHEMA));
  }

  /**
   * File by file: a quoted field may span lines, so a CSV file is parsed whole, in one task (as Spark's
   * own multi-line CSV reading does); inputs too large for that belong in JSON Lines or Parquet.
   */
  private static Dataset<Row> csv(SparkSession spark, String path, PromptRecord.Fields f) {
    JavaRDD<Row> rows = JavaSparkContext.fromSparkContext(spark.sparkContext()).wholeTextFiles(path)
        .flatMap((Tuple2<String, String> file) -> {
          List<Row> out = new ArrayList<>();
          for (PromptRecord p : CsvRecords.parse(file._2(), file._1(), f)) {
            out.add(p.toRow());
          }
          return out.iterator();
        });
    return spark.createDataFrame(rows, PromptRecord.SCHEMA);
  }

  /**
   * Column by column. The prompt column must hold strings and the id column strings or integers (a
   * float id has no one exact text); the answer may be any scalar, the seed any integer type. A file
   * without the id column gets anon ids, as JSON and CSV rows without one do.
   */
  private static Dataset<Row> parquet(SparkSession spark, String path, PromptRecord.Fields f) {
    Dataset<Row> raw = spark.read().parquet(path);
    StructType s = raw.schema();
    List<String> names = Arrays.asList(s.fieldNames());
    if (!names.contains(f.prompt())) {
      throw new IllegalArgumentException("input " + path + " has no column '" + f.prompt() + "'"
          + JsonLines.caseHint(names, f.prompt()) + " (columns: " + names + "); set input.prompt-column");
    }
    requireType(path, s.apply(f.prompt()), "strings", DataTypes.StringType);
    int id = names.indexOf(f.id());
    if (id >= 0) {
      requireType(path, s.apply(f.id()), "strings or integers", DataTypes.StringType, DataTypes.LongType,
          DataTypes.IntegerType, DataTypes.ShortType, DataTypes.ByteType);
    }
    int answer = names.indexOf(f.answer());
    if (answer >= 0 && !(s.apply(f.answer()).dataType() instanceof org.apache.spark.sql.types.AtomicType)) {
      throw new IllegalArgumentException("input " + path + ": column '" + f.answer() + "' is "
          + s.apply(f.answer()).dataType().simpleString() + "; answers must be strings or numbers");
    }
    int seed = f.seed().isBlank() ? -1 : names.indexOf(f.seed());
    if (seed >= 0) {
      requireType(path, s.apply(f.seed()), "integers", DataTypes.LongType, DataTypes.IntegerType,
          DataTypes.ShortType, DataTypes.ByteType);
    }
    int prompt = names.indexOf(f.prompt());
    return raw.map((MapFunction<Row, Row>) r -> {
      String p = r.isNullAt(prompt) ? null : r.getString(prompt);
      String i = id < 0 || r.isNullAt(id) ? null : r.get(id).toString();
      String a = answer < 0 || r.isNullAt(answer) ? null : text(r.get(answer));
      Long sd = seed < 0 || r.isNullAt(seed) ? null : ((Number) r.get(seed)).longValue();
      return PromptRecord.row(i != null ? i : PromptRecord.anonId(p == null ? "" : p), p, a, sd, null).toRow();
    }, Encoders.row(PromptRecord.SCHEMA));
  }

  private static String text(Object v) {
    return v instanceof java.math.BigDecimal d ? d.toPlainString() : v.toString();
  }

  private static void requireType(String path, StructField field, String what, DataType... types) {
    if (!Arrays.asList(types).contains(field.dataType())) {
      throw new IllegalArgumentException("input " + path + ": column '" + field.name() + "' is "
          + field.dataType().simpleString() + "; it must hold " + what);
    }
  }

  private static String formatOf(String path) {
    String p = path.toLowerCase(Locale.ROOT);
    if (p.endsWith(".parquet") || p.endsWith(".pq")) {
      return "parquet";
    }
    if (p.endsWith(".csv")) {
      return "csv";
    }
    if (p.endsWith(".jsonl") || p.endsWith(".json") || p.endsWith(".ndjson")) {
      return "json";
    }
    throw new IllegalArgumentException("cannot tell the format of " + path + "; set input.format");
  }
}
