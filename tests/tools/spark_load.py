"""Test helper: loads a CSV file into a table of the stack's Spark, with PySpark's own Spark Connect
client (not Steward's), and answers questions about tables. Used by tests/pushdown_spark.rs and
scripts/bench-pushdown.

  spark_load.py URL load TABLE CSV SCHEMA_DDL   create or replace TABLE (Parquet) from CSV (RFC 4180)
  spark_load.py URL count TABLE                 print the table's row count
  spark_load.py URL exists TABLE                print true or false
  spark_load.py URL counts TABLE GROUP LABEL PRED   print JSON: PySpark's own group-by counts
"""
import json
import sys
import warnings

warnings.filterwarnings("ignore")
from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402


def quoted(name):
    return ".".join("`" + p.replace("`", "``") + "`" for p in name.split("."))


def main():
    url, cmd, table = sys.argv[1], sys.argv[2], sys.argv[3]
    spark = SparkSession.builder.remote(url).getOrCreate()
    if cmd == "load":
        csv, schema = sys.argv[4], sys.argv[5]
        df = spark.read.csv(csv, header=True, schema=schema, escape='"', multiLine=True, mode="FAILFAST")
        df.write.mode("overwrite").format("parquet").saveAsTable(quoted(table))
        print(spark.table(quoted(table)).count())
    elif cmd == "count":
        print(spark.table(quoted(table)).count())
    elif cmd == "exists":
        print("true" if spark.catalog.tableExists(quoted(table)) else "false")
    elif cmd == "counts":
        group, label, pred = sys.argv[4], sys.argv[5], sys.argv[6]
        rows = spark.table(quoted(table)).groupBy(group, label, pred).agg(F.count(F.lit(1)).alias("n")).collect()
        print(json.dumps(sorted([[r[0], r[1], r[2], r[3]] for r in rows], key=str)))
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
