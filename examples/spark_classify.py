#!/usr/bin/env python3
"""Sentiment classification of a text file with bertc inside PySpark (mapInPandas, one model per Python worker).

    python examples/spark_classify.py --master local[2] --input tests/data/sst2-dev.tsv --output out.jsonl

--input: one text per line, or a TSV whose header names a `sentence` column (--column) such as
tests/data/sst2-dev.tsv. --output FILE: JSON lines {"label": ..., "score": ...} in input order (the format of
`bertc classify --input`; --with-text adds "text"), written by the driver; --output-dir DIR: Spark's own JSON
writer (part files of {"id", "label", "score"}, any Hadoop filesystem: the way to write on a cluster; id: the
input order, a sort key, not a line number); neither: show() of the first rows (only those are classified).

Threads: each task gets spark.task.cpus cores (--threads sets it, default 1) and its Python worker computes with
that many libbertc threads, so concurrent workers x threads = the cores Spark was given (local[N]: N; a cluster:
spark.executor.cores per executor). One model per Python worker process: the model is loaded lazily on the first
batch a worker sees and kept in this module's _MODELS for the worker's next tasks (spark.python.worker.reuse,
true by default). The driver ships this file to the workers (addPyFile) so that the cache lives in an imported
module, not in a per-task copy of the function's globals.

Where the workers find bertc (checked in this order):
  --ship            zip the bertc package and libbertc.so from the source tree or the driver's installation and
                    ship them with the job (addPyFile / addFile): nothing to install on the nodes but Python with
                    numpy, pandas and pyarrow; the library needs Linux on the same architecture with a glibc at
                    least as new as the build machine's.
  installed         `pip install ./python` (the wheel carries libbertc.so) into the Python the workers run
                    (PYSPARK_PYTHON, or a shipped venv: see python/README.md): nothing to set.
  source tree       bertc importable only from <repo>/python (PYTHONPATH=python, or found beside this example):
                    the driver passes PYTHONPATH and BERTC_LIBRARY to the workers through spark.executorEnv.*.
                    The paths must exist on the workers (always true in local mode; a shared filesystem on a
                    cluster). BERTC_LIBRARY (or --library) defaults to <repo>/build/libbertc.so.
In local mode the workers run the driver's Python (PYSPARK_PYTHON defaults to sys.executable), so running this
file with a venv's python is enough; the driver loads bertc once before starting Spark, to fail early.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Iterator

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# ---- worker side ----------------------------------------------------------------------------------------------
# One pipeline per Python worker process, keyed by (model, threads, dtype); see the module docstring.
_MODELS: dict[tuple[Any, ...], Any] = {}


def _pipeline(model: str | None, threads: int, dtype: str | None) -> Any:
    key = (model, threads, dtype)
    clf = _MODELS.get(key)
    if clf is None:
        lib = os.environ.get("BERTC_SPARK_SHIPPED_LIBRARY")
        if lib:  # --ship: the library came with the job, into this executor's SparkFiles folder
            from pyspark import SparkFiles
            os.environ["BERTC_LIBRARY"] = SparkFiles.get(lib)
        import bertc
        clf = bertc.pipeline("sentiment-analysis", model=model, threads=threads, dtype=dtype)
        _MODELS[key] = clf
    return clf


def classify_batches(batches: Iterator[Any], text_col: str, model: str | None, dtype: str | None,
                     batch_size: int, max_length: int | None, stats: Any = None) -> Iterator[Any]:
    """mapInPandas body: pandas frames with (id, text_col) in, (id, text_col, label, score) out. stats: None or
    accumulators (models loaded, texts classified, seconds in bertc) (see new_stats)."""
    import numpy as np
    import pandas as pd
    from pyspark import TaskContext

    ctx = TaskContext.get()
    threads = max(1, int(ctx.cpus())) if ctx is not None else 1
    fresh = (model, threads, dtype) not in _MODELS
    clf = _pipeline(model, threads, dtype)
    if fresh and stats is not None:
        stats[0].add(1)
    for pdf in batches:
        texts = ["" if t is None else str(t) for t in pdf[text_col].tolist()]
        t = time.perf_counter()
        out = clf(texts, truncation=True, max_length=max_length, batch_size=batch_size) if texts else []
        if stats is not None:
            stats[1].add(len(texts))
            stats[2].add(time.perf_counter() - t)
        yield pd.DataFrame({
            "id": pdf["id"].to_numpy(),
            text_col: texts,
            "label": [r["label"] for r in out],
            "score": np.asarray([r["score"] for r in out], dtype=np.float32),
        })


# ---- driver side ----------------------------------------------------------------------------------------------
def _bertc_source() -> tuple[str, str | None, str | None]:
    """How the workers will import bertc: ("installed", None, None) or ("source", python_dir, library)."""
    import importlib.util
    spec = importlib.util.find_spec("bertc")
    src = os.path.join(ROOT, "python")
    if spec is None and os.path.isfile(os.path.join(src, "bertc", "__init__.py")):
        sys.path.insert(0, src)
        spec = importlib.util.find_spec("bertc")
    if spec is None or not spec.origin:
        raise SystemExit("spark_classify: bertc not importable: `pip install ./python`, or run from the source tree "
                         "(PYTHONPATH=python BERTC_LIBRARY=build/libbertc.so)")
    pkg = os.path.dirname(os.path.abspath(spec.origin))
    if "site-packages" in pkg.split(os.sep) or "dist-packages" in pkg.split(os.sep):
        return "installed", os.path.dirname(pkg), None
    lib = os.environ.get("BERTC_LIBRARY")
    if not lib:
        for cand in (os.path.join(pkg, "libbertc.so"), os.path.join(ROOT, "build", "libbertc.so")):
            if os.path.exists(cand):
                lib = cand
                break
    return "source", os.path.dirname(pkg), os.path.abspath(lib) if lib else None


def _ship(sc: Any, python_dir: str, library: str | None) -> str:
    """addPyFile(bertc.zip) + addFile(libbertc.so); returns the library's SparkFiles name."""
    import tempfile
    import zipfile
    pkg = os.path.join(python_dir, "bertc")
    if not library:
        library = os.environ.get("BERTC_LIBRARY") or os.path.join(pkg, "libbertc.so")
    if not os.path.exists(library):
        raise SystemExit(f"spark_classify: --ship: {library}: no such library (set BERTC_LIBRARY or --library)")
    tmp = tempfile.mkdtemp(prefix="bertc-spark-")
    zpath = os.path.join(tmp, "bertc.zip")
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(os.listdir(pkg)):
            if name.endswith((".py", ".typed")):
                z.write(os.path.join(pkg, name), os.path.join("bertc", name))
    lib_copy = os.path.join(tmp, "libbertc.so")
    with open(os.path.realpath(library), "rb") as f, open(lib_copy, "wb") as g:
        g.write(f.read())
    sc.addPyFile(zpath)
    sc.addFile(lib_copy)
    return "libbertc.so"


def build_session(master: str | None, threads: int, app: str = "bertc-classify", ship: bool = False,
                  library: str | None = None, extra_conf: dict[str, str] | None = None) -> tuple[Any, dict[str, Any]]:
    """A SparkSession set up so that its Python workers import bertc (see the module docstring); returns it and
    a description of how bertc reaches the workers."""
    from pyspark.sql import SparkSession

    how, python_dir, lib = _bertc_source()
    if (master or "").startswith("local") and not os.environ.get("PYSPARK_PYTHON"):
        # local mode: the workers run this Python (its venv's pyarrow, pandas, bertc), not `python3` on PATH
        os.environ["PYSPARK_PYTHON"] = sys.executable
    if library:
        lib = os.path.abspath(library)
    if lib:
        os.environ["BERTC_LIBRARY"] = lib
    try:  # fail here, not in every task: the driver loads the library the workers will load
        import bertc  # noqa: F401
    except (ImportError, OSError, AttributeError) as e:
        raise SystemExit(f"spark_classify: bertc does not load ({lib or 'installed library'}): {e}") from None
    b = SparkSession.builder.appName(app)
    if master:
        b = b.master(master)
    conf = {
        "spark.task.cpus": str(threads),            # one task = one Python worker = `threads` libbertc threads
        "spark.python.worker.reuse": "true",        # the default; the per-worker model cache relies on it
        "spark.ui.showConsoleProgress": "false",
    }
    if ship:
        conf["spark.executorEnv.BERTC_SPARK_SHIPPED_LIBRARY"] = "libbertc.so"
        how = "shipped"
    elif how == "source":
        conf["spark.executorEnv.PYTHONPATH"] = python_dir or ""  # merged with pyspark's own path by the worker factory
        if lib:
            conf["spark.executorEnv.BERTC_LIBRARY"] = lib
    elif lib:  # installed, but an explicit library asked for
        conf["spark.executorEnv.BERTC_LIBRARY"] = lib
    conf.update(extra_conf or {})
    for k, v in conf.items():
        b = b.config(k, v)
    spark = b.getOrCreate()
    sc = spark.sparkContext
    sc.setLogLevel("WARN")
    if ship:
        _ship(sc, python_dir or "", lib)
    # the workers import this module by name (its _MODELS cache must outlive a task); pickle by reference
    sc.addPyFile(os.path.abspath(__file__))
    return spark, {"bertc": how, "python_dir": python_dir, "library": lib}


def new_stats(spark: Any) -> tuple[Any, Any, Any]:
    """Accumulators for classify: (models loaded, texts classified, worker seconds in bertc). A task retried or
    a result recomputed counts again."""
    sc = spark.sparkContext
    return sc.accumulator(0), sc.accumulator(0), sc.accumulator(0.0)


def read_texts(spark: Any, path: str, column: str = "sentence", fmt: str = "auto") -> tuple[Any, str]:
    """A DataFrame (id: input order, text) of a text file (one text per line) or a TSV with a header naming
    `column`. Spark reads it (a path on any Hadoop filesystem; a folder of such files)."""
    from pyspark.sql import functions as F

    lines = spark.read.text(path).withColumn("id", F.monotonically_increasing_id())
    first = lines.select("value").first()
    header = first[0] if first else ""
    cols = header.split("\t")
    if fmt == "tsv" or (fmt == "auto" and "\t" in header and column in cols):
        if column not in cols:
            raise SystemExit(f"spark_classify: {path}: no column {column!r} in the header {cols}")
        idx = cols.index(column)
        df = lines.filter(F.col("value") != header).select(
            "id", F.coalesce(F.split(F.col("value"), "\t").getItem(idx), F.lit("")).alias("text"))
    else:
        df = lines.select("id", F.col("value").alias("text"))
    return df, "text"


def classify(df: Any, text_col: str = "text", model: str | None = None, dtype: str | None = None,
             batch_size: int = 32, max_length: int | None = None, partitions: int | None = None,
             stats: Any = None) -> Any:
    """df (id, text_col) -> (id, text_col, label, score) through mapInPandas, one model per Python worker.

    The rows are range-partitioned on id and sorted within each partition, so the result's partitions, read in
    order (toLocalIterator, the part files of write.json), are in input order, with no sort of the results
    (a global orderBy would sample them first: a second classification pass)."""
    import importlib
    if __name__ == "__main__" and HERE not in sys.path:
        sys.path.insert(0, HERE)
    mod = importlib.import_module("spark_classify") if __name__ == "__main__" else sys.modules[__name__]
    fn = mod.classify_batches  # by reference: the workers import spark_classify (shipped by build_session)

    spark = df.sparkSession
    sc = spark.sparkContext
    if partitions is None:
        slots = max(1, sc.defaultParallelism // int(sc.getConf().get("spark.task.cpus", "1")))
        partitions = max(slots, df.rdd.getNumPartitions())
    src = df.select("id", text_col).repartitionByRange(partitions, "id")

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        it: Iterator[Any] = fn(batches, text_col, model, dtype, batch_size, max_length, stats)
        return it

    out = src.mapInPandas(run, schema=f"id long, `{text_col}` string, label string, score float")
    return out.sortWithinPartitions("id")


def write_jsonl(res: Any, path: str, text_col: str | None = None) -> int:
    """The result's rows, in partition order (input order, see classify), as JSON lines on the driver.
    toLocalIterator computes one partition at a time: the result is computed in parallel first, persisted
    (memory, spilling to disk), then streamed to the driver a partition at a time."""
    import numpy as np
    from pyspark import StorageLevel
    n = 0
    res = res.persist(StorageLevel.MEMORY_AND_DISK)
    res.count()
    with open(path, "w", encoding="utf-8") as f:
        for r in res.toLocalIterator():
            # the float32 score's shortest repr (the value bertc classify prints, to float32 precision)
            d: dict[str, Any] = {"label": r["label"], "score": float(str(np.float32(r["score"])))}
            if text_col:
                d["text"] = r[text_col]
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
            n += 1
    res.unpersist()
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--master", help="local[2], yarn, k8s://..., spark://... (default: spark-submit's)")
    ap.add_argument("--input", required=True, help="text file (one text per line) or TSV with a header")
    ap.add_argument("--column", default="sentence", help="the TSV's text column (default: sentence)")
    ap.add_argument("--format", choices=("auto", "text", "tsv"), default="auto")
    ap.add_argument("--output", help="JSON lines file, in input order, written by the driver")
    ap.add_argument("--output-dir", help="Spark's JSON writer: a folder of part files (id, label, score)")
    ap.add_argument("--with-text", action="store_true", help="add the text to each output line")
    ap.add_argument("--model", help="model folder or Hugging Face id (default: bertc's embedded model)")
    ap.add_argument("--dtype", help="fp32 (default), fp16, bf16, int8")
    ap.add_argument("--threads", type=int, default=1,
                    help="libbertc threads per Python worker = spark.task.cpus (default 1)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int)
    ap.add_argument("--partitions", type=int, help="default: the concurrent task slots (or the input's splits)")
    ap.add_argument("--ship", action="store_true", help="ship bertc and libbertc.so with the job")
    ap.add_argument("--library", help="libbertc.so for the workers (default: $BERTC_LIBRARY, build/libbertc.so)")
    ap.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE", help="more Spark settings")
    a = ap.parse_args(argv)
    if a.threads < 1:
        ap.error("--threads must be >= 1")
    extra = dict(kv.split("=", 1) for kv in a.conf)

    t0 = time.time()
    spark, how = build_session(a.master, a.threads, ship=a.ship, library=a.library, extra_conf=extra)
    t1 = time.time()
    stats = new_stats(spark)
    df, col = read_texts(spark, a.input, a.column, a.format)
    res = classify(df, col, a.model, a.dtype, a.batch_size, a.max_length, a.partitions, stats)
    if a.output and a.output_dir:
        res = res.persist()  # one classification pass for both outputs
    if a.output_dir:
        res.select("id", *([col] if a.with_text else []), "label", "score").write.mode("overwrite").json(a.output_dir)
    if a.output:
        write_jsonl(res, a.output, col if a.with_text else None)
    if not a.output and not a.output_dir:
        res.select(col, "label", "score").show(20, truncate=60)
    t2 = time.time()
    n = stats[1].value
    sc = spark.sparkContext
    print(f"spark_classify: {n} texts in {t2 - t1:.2f} s ({n / max(t2 - t1, 1e-9):.0f}/s) after {t1 - t0:.2f} s "
          f"of Spark start-up; master {sc.master}, {sc.defaultParallelism} cores, {a.threads} thread(s) per "
          f"worker, models loaded: {stats[0].value}, {stats[2].value:.2f} s in bertc; bertc: {how['bertc']}",
          file=sys.stderr)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
