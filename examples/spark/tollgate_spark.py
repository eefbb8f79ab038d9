#!/usr/bin/env python3
"""Runs tollgate's compiled rules on Spark and writes findings as JSON lines.

    tollgate compile --target spark-sql > compiled.json
    python3 tollgate_spark.py compiled.json findings.jsonl EXPORT [EXPORT...]

EXPORT is a file or folder of Azure Monitor diagnostic-settings exports
(storage-account PT1H.json blobs: one record a line; Event Hub captures:
`{"records": [...]}` a line; gzip is read too). Every export is read with
the schema tollgate wrote in compiled.json, so a field the files lack is
null rather than a missing column. Records of the Graph activity category
go to the Graph view, all others to the sign-in view.

Each query's rows are written as one JSON object a line: `ruleId`, the
sign-in's `id`, and the identity columns the query returns.

Needs pyspark (pip install pyspark==4.3.0) and Java 17. The local Spark
gets 6 GB of memory; set TOLLGATE_SPARK_MEMORY (such as 12g) for more.
"""

import json
import os
import sys
import time

from pyspark.sql import SparkSession
from pyspark import StorageLevel
from pyspark.sql import functions as F


def views(spark, paths, schema, table, graph_table):
    """Registers the sign-in and Graph activity views over the exports."""
    lines = spark.read.text(paths)
    record = schema[table]
    graph = schema[graph_table]
    parsed = lines.select(
        F.from_json("value", "records ARRAY<STRING>").alias("batch"),
        F.col("value"),
    )
    # An Event Hub message holds records in `records`; a blob line is one
    # record.
    one = parsed.where("batch.records IS NULL").select(F.col("value").alias("json"))
    many = parsed.where("batch.records IS NOT NULL").select(
        F.explode("batch.records").alias("json")
    )
    texts = one.unionByName(many)
    is_graph = "lower(get_json_object(json, '$.category')) = 'microsoftgraphactivitylogs'"
    signins = texts.where(f"NOT coalesce({is_graph}, false)").select(
        F.from_json("json", record).alias("r")
    ).select("r.*")
    activity = texts.where(is_graph).select(F.from_json("json", graph).alias("r")).select("r.*")
    # Parsed once, read by every query.
    signins = signins.persist(StorageLevel.MEMORY_AND_DISK)
    activity = activity.persist(StorageLevel.MEMORY_AND_DISK)
    signins.createOrReplaceTempView(table)
    activity.createOrReplaceTempView(graph_table)


def main(argv):
    if len(argv) < 4:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    compiled_path, out_path, paths = argv[1], argv[2], argv[3:]
    with open(compiled_path, encoding="utf-8") as f:
        compiled = json.load(f)
    if compiled.get("target") != "spark-sql":
        print(f"error: {compiled_path} was compiled for {compiled.get('target')}, not spark-sql",
              file=sys.stderr)
        return 2
    schema = compiled["schema"]
    table, graph_table = compiled["views"]["signIn"], compiled["views"]["graphActivity"]
    started = time.time()
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("tollgate")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        # The parsed records are cached for every query: give the driver
        # (which is the executor on a local Spark) room for them.
        .config("spark.driver.memory", os.environ.get("TOLLGATE_SPARK_MEMORY", "6g"))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    views(spark, paths, schema, table, graph_table)
    rows = 0
    failed = 0
    with open(out_path, "w", encoding="utf-8") as out:
        for q in compiled["queries"]:
            try:
                found = spark.sql(q["query"]).collect()
            except Exception as e:  # a query Spark refuses: name it, go on
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                print(f"error: {q['ruleId']}: {first}", file=sys.stderr)
                failed += 1
                continue
            for row in found:
                out.write(json.dumps(row.asDict(), default=str, sort_keys=True) + "\n")
                rows += 1
    print(
        f"ran {len(compiled['queries'])} queries over {', '.join(paths)}: "
        f"{rows} findings in {time.time() - started:.1f} s",
        file=sys.stderr,
    )
    spark.stop()
    if failed:
        print(f"error: {failed} of {len(compiled['queries'])} queries failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
