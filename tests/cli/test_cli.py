import time

import pytest
import torch
from support import run_main

from dla_dense import classify, create_classifier, imagenet_labels
from dla_dense.cli import classify as classify_cli
from dla_dense.cli import model_info as model_info_cli
from dla_dense.data import sample_image_path

#: the tools end to end: the slow tier.
pytestmark = pytest.mark.slow


def _tool(name: str, *args: str):
    return run_main(name, *args)


def _parse(lines: list[str]) -> list[tuple[str, float]]:
    parsed = []
    for line in lines:
        label, prob = line.rsplit(" ", 1)
        parsed.append((label, float(prob)))
    return parsed


def test_classify_tool_random_weights_on_bundled_photo():
    result = _tool("classify", "--model", "dla60", "--no-pretrained")
    assert result.returncode == 0, result.stderr
    top = _parse(result.stdout.strip().splitlines())
    assert len(top) == 5
    assert all(label in imagenet_labels() for label, _ in top)
    probs = [p for _, p in top]
    assert probs == sorted(probs, reverse=True) and all(0 <= p <= 1 for p in probs)
    assert "random weights" in result.stderr


def test_classify_tool_without_weights_offline_is_one_clear_line():
    start = time.monotonic()
    result = _tool("classify", "--model", "dla60")
    assert time.monotonic() - start < 10
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--weights" in lines[0]


def test_classify_tool_uses_the_weights_file(tmp_path):
    model = create_classifier("dla60")
    with torch.no_grad():
        model.fc.weight.mul_(1e-3)
    weights = tmp_path / "dla60.pth"
    torch.save(model.state_dict(), weights)
    image = tmp_path / "cat.png"
    image.write_bytes(sample_image_path().read_bytes())
    result = _tool("classify", "--model", "dla60", "--weights", str(weights), str(image), "--topk", "3")
    assert result.returncode == 0, result.stderr
    expected = classify(model, image, topk=3)
    got = _parse(result.stdout.strip().splitlines())
    assert [label for label, _ in got] == [label for label, _ in expected]
    assert [p for _, p in got] == pytest.approx([p for _, p in expected], abs=1e-4)
    assert expected[0][1] < 0.9  # a spread distribution, so the comparison means something


def test_classify_several_images_get_headers(capsys, tmp_path):
    image = sample_image_path()
    assert classify_cli.main(["--model", "dla46_c", "--no-pretrained", "--topk", "2", str(image), str(image)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == f"== {image}" and lines[3] == f"== {image}"
    assert len(lines) == 6


@pytest.mark.parametrize(
    "args, message",
    [
        (["--no-pretrained", "missing.jpg"], "image not found: 'missing.jpg'"),
        (["--no-pretrained", "--model", "dla35"], "unknown model 'dla35'; did you mean 'dla34'"),
        (["--weights", "nowhere.pth"], "weights file not found: 'nowhere.pth'"),
    ],
)
def test_classify_bad_input_is_one_line(capsys, args, message):
    assert classify_cli.main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_classify_non_image_file(capsys, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    assert classify_cli.main(["--no-pretrained", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read image") and "Traceback" not in err


def test_model_info_tool_prints_a_table():
    result = _tool("model_info", "--model", "dla34", "--model", "dla46_c")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].split() == ["model", "params", "(M)", "GMACs@224"]
    assert lines[1].split() == ["dla34", "15.74", "3.07"]
    assert lines[2].split() == ["dla46_c", "1.30", "0.58"]


def test_model_info_json(capsys):
    assert model_info_cli.main(["--model", "dla34", "--json", "--image-size", "256"]) == 0
    out = capsys.readouterr().out
    assert '"model": "dla34"' in out and '"gmacs"' in out
