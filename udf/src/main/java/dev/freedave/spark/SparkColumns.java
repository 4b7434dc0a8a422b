package dev.freedave.spark;

import dev.freedave.generate.OutputColumn;
import dev.freedave.generate.OutputRow;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/** {@link OutputColumn}s as Spark sees them: their schema fields and their values in a Row. */
public final class SparkColumns {
  private SparkColumns() {}

  /** Every output column in order: the job's Parquet schema. */
  public static StructType schema() {
    return new StructType(Arrays.stream(OutputColumn.values()).map(SparkColumns::field).toArray(StructField[]::new));
  }

  /** The input schema with the result columns (all but the echoed id and prompt) appended. */
  static StructType appendedTo(StructType input) {
    List<StructField> fields = new ArrayList<>(Arrays.asList(input.fields()));
    for (OutputColumn c : results()) {
      if (Arrays.asList(input.fieldNames()).contains(c.column())) {
        throw new IllegalArgumentException("input column '" + c.column() + "' has the name of an output column; "
            + "rename or drop it first");
      }
      fields.add(field(c));
    }
    return new StructType(fields.toArray(StructField[]::new));
  }

  static List<OutputColumn> results() {
    return Arrays.stream(OutputColumn.values()).filter(c -> !c.fromInput()).toList();
  }

  static StructField field(OutputColumn c) {
    return DataTypes.createStructField(c.column(), sparkType(c.type), c.nullable);
  }

  private static DataType sparkType(OutputColumn.Type t) {
    return switch (t) {
      case STRING -> DataTypes.StringType;
      case INT -> DataTypes.IntegerType;
      case LONG -> DataTypes.LongType;
      case DOUBLE -> DataTypes.DoubleType;
      case BOOLEAN -> DataTypes.BooleanType;
      case INT_ARRAY -> DataTypes.createArrayType(DataTypes.IntegerType, false);
    };
  }

  /** The column's value as a Row field: Spark's encoder wants a Java array (not int[] or a List) for arrays. */
  static Object value(OutputColumn c, OutputRow r) {
    Object v = c.of(r);
    if (v instanceof int[] a) {
      Integer[] boxed = new Integer[a.length];
      for (int i = 0; i < a.length; i++) {
        boxed[i] = a[i];
      }
      return boxed;
    }
    return v;
  }
}
