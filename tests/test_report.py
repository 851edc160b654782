"""bnnkit report over any models (Markdown, JSON, one HTML page) and the HTML
pages of report and analyze, rendered in headless Chromium."""

import json

from bnnkit.report import groups, markdown
from helpers import MODELS, assert_not_blank, needs_fashion, run_cli, screenshot


@needs_fashion
def test_report_of_any_models_writes_md_json_and_a_page_chromium_renders(tmp_path):
    models = [MODELS / "lenet_bin3.tflite", MODELS / "qconvnet.tflite"]
    res = run_cli("report", *models, "--target", "host", "--limit", "20", "--docs",
                  tmp_path / "d", "--name", "two")
    assert res.returncode == 0, res.stderr
    md = (tmp_path / "d" / "report-two.md").read_text()
    rows = json.loads((tmp_path / "d" / "report-two.json").read_text())
    assert [r["name"] for r in rows] == ["lenet_bin3", "qconvnet"]
    assert all(r["n_images"] == 20 and r["agreement"] == 1.0 for r in rows)
    # every accuracy column says on how many images; the paper is cited by title
    assert "device acc (20 test images) %" in md and "agreement (20 test images) %" in md
    assert "Optimization of Neural Networks" in md and "| lenet_bin3 | 3 binary layers | 90.52" in md
    assert "### qconvnet: per layer" in md
    page = (tmp_path / "d" / "report-two.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "<script" not in page
    assert "src=\"http" not in page  # self-contained
    assert_not_blank(screenshot(tmp_path / "d" / "report-two.html", tmp_path / "r.png"))


def test_report_refuses_a_missing_model_in_one_line(tmp_path):
    res = run_cli("report", tmp_path / "nope.tflite", "--docs", tmp_path / "d")
    assert res.returncode != 0 and "nope.tflite: no such model file" in res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "d" / "report-models.md").exists()


def test_mixed_image_counts_are_never_side_by_side():
    row = dict(name="m", accuracy=0.9, agreement=1.0, lce_flatbuffer_bytes=1, model_bytes=1,
               keras_test_accuracy=None, keras_train_accuracy=None, paper=None)
    rows = [dict(row, name="a", n_images=100), dict(row, name="b", n_images=10_000),
            dict(row, name="c", n_images=100)]
    text = markdown(rows, "host")
    assert text.count("| model |") == 2
    first, second = text.split("device acc (10,000 images)")
    assert "device acc (100 images)" in first and "| a |" in first and "| c |" in first
    assert "| b |" in second and "| a |" not in second
    assert [(n, [r["name"] for r in g]) for _, n, g in groups(
        [dict(r, dataset="d") for r in rows])] == [(100, ["a", "c"]), (10_000, ["b"])]


def test_analyze_html_page_renders(tmp_path):
    out = tmp_path / "a.html"
    res = run_cli("analyze", MODELS / "lenet_bin3.tflite", "--board", "stm32l476", "--html", out)
    assert res.returncode == 0, res.stderr
    page = out.read_text()
    assert "verdict: FITS" in page and "STM32L476" in page and "lenet_bin3/conv2/Relu" in page
    assert page.count("data:image/png;base64,") == 2
    assert_not_blank(screenshot(out, tmp_path / "a.png"))


def test_a_blank_render_is_caught():
    import numpy as np
    import pytest

    with pytest.raises(AssertionError, match="of the page is drawn"):
        assert_not_blank(np.full((100, 100, 3), 255, np.uint8))
