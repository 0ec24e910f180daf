"""The package's type hints hold (mypy --strict), where mypy is installed (CI installs it)."""
import os

import pytest

api = pytest.importorskip("mypy.api", reason="mypy is not installed")


def test_mypy_strict():
    pkg = os.path.join(os.path.dirname(__file__), "..", "bertc")
    out, err, status = api.run(["--strict", "--ignore-missing-imports", "--no-incremental",
                                "--cache-dir", os.devnull, pkg])
    assert status == 0, out + err


def test_pipeline_overloads(tmp_path, monkeypatch):
    """pipeline(task) is typed by task: a user's code calling the task's own methods type-checks, a wrong use does not."""
    good = tmp_path / "good.py"
    good.write_text("import bertc\n"
                    "p = bertc.pipeline('sentiment-analysis')\n"
                    "reveal_type(p)\n"
                    "q = bertc.pipeline('question-answering', model='m')\n"
                    "reveal_type(q)\n", encoding="utf-8")
    monkeypatch.setenv("MYPYPATH", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    out, err, status = api.run(["--strict", "--ignore-missing-imports", "--no-incremental", "--cache-dir", os.devnull,
                                str(good)])
    assert "TextClassificationPipeline" in out and "QuestionAnsweringPipeline" in out, out + err
