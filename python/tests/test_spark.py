"""examples/spark_classify.py in Spark's local mode: labels and scores equal `bertc classify`'s for the same texts.

Needs pyspark (with pandas and pyarrow, for mapInPandas) and a Java runtime Spark supports (pyspark 4: Java 17 or
21); skipped without them. The CLI to compare with: $BERTC_BIN, else <repo>/build/bertc. One SparkSession
(local[2]) for the module; the JVM's start-up is most of the wall time.
"""
import json
import os
import shutil
import subprocess
import sys

import pytest

# BERTC_REQUIRE_SPARK=1 (make pytest-spark, CI): what would skip fails instead
REQUIRE = os.environ.get("BERTC_REQUIRE_SPARK") == "1"


def _skip(reason: str) -> None:
    if REQUIRE:
        pytest.fail(reason)
    pytest.skip(reason)


if not REQUIRE:
    pytest.importorskip("pyspark", reason="pyspark not installed (pip install pyspark pandas pyarrow)")
    pytest.importorskip("pandas", reason="pandas not installed (pyspark's mapInPandas needs it)")
    pytest.importorskip("pyarrow", reason="pyarrow not installed (pyspark's mapInPandas needs it)")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "examples"))
import spark_classify  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas")

SST2 = os.path.join(ROOT, "tests", "data", "sst2-dev.tsv")
N = 200      # rows of SST-2 dev compared with the CLI
SLOTS = 2    # local[2]: two Python workers of one thread each


def _java() -> bool:
    home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (home and os.path.exists(os.path.join(home, "bin", "java"))))


@pytest.fixture(scope="module")
def spark():
    if not _java():
        _skip("no Java runtime (java on PATH or JAVA_HOME): Spark needs one (pyspark 4: Java 17 or 21)")
    conf = {
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": str(SLOTS),
        # a short job: C1 only and the serial GC start the driver JVM in about half the time
        "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    }
    try:
        session, _ = spark_classify.build_session(f"local[{SLOTS}]", 1, app="bertc-test", extra_conf=conf)
    except Exception as e:  # the JVM did not start: unsupported Java, no loopback network, ...
        if type(e).__name__ in ("PySparkRuntimeError", "Py4JError", "Py4JNetworkError"):
            _skip(f"Spark's JVM did not start: {e}")
        raise
    yield session
    session.stop()


@pytest.fixture(scope="module")
def stats(spark):
    return spark_classify.new_stats(spark)


@pytest.fixture(scope="module")
def sentences():
    with open(SST2, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        col = header.index("sentence")
        return [line.rstrip("\n").split("\t")[col] for _, line in zip(range(N), f)]


@pytest.fixture(scope="module")
def cli(sentences, tmp_path_factory):
    """`bertc classify --input` on the texts (as {"text": ...} lines: the exact strings): one dict per text."""
    exe = os.environ.get("BERTC_BIN") or os.path.join(ROOT, "build", "bertc")
    if not os.access(exe, os.X_OK):
        _skip(f"{exe}: no bertc command to compare with (build it, or set BERTC_BIN)")
    path = tmp_path_factory.mktemp("cli") / "texts.jsonl"
    path.write_text("".join(json.dumps({"text": s}) + "\n" for s in sentences), encoding="utf-8")
    run = subprocess.run([exe, "classify", "--input", str(path)], capture_output=True, text=True)
    assert run.returncode == 0, f"{exe} classify: exit {run.returncode}: {run.stderr.strip()}"
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(rows) == len(sentences)
    return rows


def _run(spark, stats, tmp_path, path, **kw):
    df, col = spark_classify.read_texts(spark, str(path), **kw)
    res = spark_classify.classify(df, col, stats=stats)
    out = tmp_path / "out.jsonl"
    n = spark_classify.write_jsonl(res, str(out), col)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert n == len(rows)
    return rows


def _same(got, want, texts):
    assert len(got) == len(want)
    assert [r["text"] for r in got] == texts  # input order
    assert [r["label"] for r in got] == [r["label"] for r in want]
    worst = max(abs(g["score"] - w["score"]) for g, w in zip(got, want))
    assert worst <= 1e-6, worst


def test_tsv_matches_cli(spark, stats, sentences, cli, tmp_path):
    path = tmp_path / "sst2-head.tsv"
    with open(SST2, encoding="utf-8") as f:
        path.write_text("".join(line for _, line in zip(range(N + 1), f)), encoding="utf-8")
    loads, rows = stats[0].value, stats[1].value
    got = _run(spark, stats, tmp_path, path)
    _same(got, cli, sentences)
    assert stats[1].value - rows == N          # one classification pass
    assert 1 <= stats[0].value - loads <= SLOTS  # at most one model per Python worker


def test_text_lines_match_cli(spark, stats, sentences, cli, tmp_path):
    k = 50
    path = tmp_path / "texts.txt"
    path.write_text("".join(s + "\n" for s in sentences[:k]), encoding="utf-8")
    rows = stats[1].value
    got = _run(spark, stats, tmp_path, path)
    _same(got, cli[:k], sentences[:k])
    assert stats[1].value - rows == k
    assert stats[0].value <= 2 * SLOTS  # the workers' models are reused across jobs (worker reuse)
