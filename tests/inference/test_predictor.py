"""The Predictor on trained tiny work dirs gives the predictions of tools/test.py (one inference path), takes
paths, PIL images, arrays and lists, and its results turn into COCO json, label ids and pictures."""

import dataclasses
import json

import numpy as np
import pytest
import torch
from PIL import Image

from dla_dense import ClsResult, DetResult, DLADenseError, PoseResult, Predictor, SegResult


@pytest.fixture(scope="module")
def predictors(trained_tiny):
    cache = {}

    def get(task):
        if task not in cache:
            config, work = trained_tiny(task)
            cache[task] = (Predictor.from_work_dir(work, device="cpu"), config, work)
        return cache[task]

    return get


def test_seg_label_ids_equal_the_test_tools_pngs(predictors, tool, tmp_path):
    predictor, config, work = predictors("seg")
    out = tmp_path / "out"
    result = tool("test", str(config), str(work / "best.pth"), "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    dataset = predictor.task.val_set()
    for i, path in enumerate(dataset.images):
        got = predictor(path)
        assert isinstance(got, SegResult) and got.label_map.shape == got.image.shape[:2]
        expected = np.asarray(Image.open(out / "labelIds" / f"{dataset[i]['name']}.png"))
        np.testing.assert_array_equal(got.to_label_ids(), expected)


@pytest.mark.parametrize("task", ["det", "pose"])
def test_det_and_pose_coco_entries_equal_the_test_tools_json(task, predictors, tool, tmp_path):
    predictor, config, work = predictors(task)
    out = tmp_path / "results.json"
    result = tool("test", str(config), str(work / "best.pth"), "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    expected = json.loads(out.read_text())
    dataset = predictor.task.val_set()
    got = []
    for image_id in dataset.coco.getImgIds():
        info = dataset.coco.loadImgs(image_id)[0]
        prediction = predictor(dataset.img_dir / info["file_name"])
        assert isinstance(prediction, PoseResult if task == "pose" else DetResult)
        got += prediction.to_coco(image_id)
    assert len(got) == len(expected) > 0
    fields = ["bbox", "keypoints"] if task == "pose" else ["bbox"]
    for e in expected:  # each of the test tool's entries has its twin (scores tie often in a tiny model)
        twin = next(
            g
            for g in got
            if (g["image_id"], g["category_id"]) == (e["image_id"], e["category_id"])
            and abs(g["score"] - e["score"]) < 1e-5
            and all(np.allclose(g[f], e[f], atol=0.01) for f in fields)
        )
        got.remove(twin)


def test_cls_top1_equals_the_test_tools(predictors, tool):
    predictor, config, work = predictors("cls")
    result = tool("test", str(config), str(work / "best.pth"))
    assert result.returncode == 0, result.stderr[-3000:]
    printed = float(result.stderr.strip().splitlines()[-1].split("top1 ")[1].split()[0])
    dataset = predictor.task.val_set()
    results = predictor([path for path, _ in dataset.samples])
    assert all(isinstance(r, ClsResult) for r in results)
    hits = [r.label == label for r, (_, label) in zip(results, dataset.samples, strict=True)]
    assert np.mean(hits) == pytest.approx(printed, abs=1e-4)
    assert [name for name, _ in results[0].topk(2)] == list(
        np.array(predictor.class_names)[np.argsort(-results[0].probabilities, kind="stable")[:2]]
    )


def test_inputs_of_every_kind_and_batches_give_the_same_result(predictors):
    predictor, _, _ = predictors("det")
    path = sorted(predictor.task.val_set().img_dir.glob("*.png"))[0]
    rgb = np.array(Image.open(path).convert("RGB"))
    single = [predictor(path), predictor(Image.open(path)), predictor(rgb)]
    batched = predictor([rgb, rgb[:, ::-1].copy(), rgb])
    for r in single + [batched[0], batched[2]]:
        np.testing.assert_allclose(r.boxes, single[0].boxes, atol=1e-3)
        np.testing.assert_allclose(r.scores, single[0].scores, atol=1e-5)
    assert predictor.timer.images >= 6 and predictor.timer.seconds["inference"] > 0


def test_bad_inputs_are_one_line_errors(predictors, tmp_path):
    predictor, _, _ = predictors("det")
    with pytest.raises(DLADenseError, match=r"H x W x 3 uint8 RGB, got float32 \[8, 8\]"):
        predictor(np.zeros((8, 8), np.float32))
    with pytest.raises(DLADenseError, match="not found"):
        Predictor.from_work_dir(tmp_path)


def test_seg_probabilities_and_json(predictors):
    predictor, _, _ = predictors("seg")
    path = predictor.task.val_set().images[0]
    result = predictor(path, probabilities=True)
    assert result.probabilities.shape == (len(result.class_names), *result.label_map.shape)
    np.testing.assert_array_equal(result.probabilities.argmax(0), result.label_map)
    shares = result.to_json()["classes"]
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-4)
    picture = result.plot()
    assert picture.shape[0] == result.image.shape[0] and picture.shape[1] > result.image.shape[1]  # the legend


def test_class_agnostic_nms_keeps_one_box_per_object():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10.5], [20, 20, 30, 30]], np.float32)
    result = DetResult(
        image=np.zeros((40, 40, 3), np.uint8),
        boxes=boxes,
        scores=np.array([0.9, 0.8, 0.7], np.float32),
        labels=np.array([0, 1, 0]),
        class_names=("a", "b"),
    )
    kept = result.nms(0.5)
    assert kept.labels.tolist() == [0, 0] and kept.scores.tolist() == pytest.approx([0.9, 0.7])
    assert len(result) == 3 and result.to_coco(7)[1] == {
        "image_id": 7,
        "category_id": 2,
        "bbox": [0.0, 0.0, 10.0, 10.5],
        "score": 0.8,
    }


def test_the_timer_summary_names_each_stage():
    from dla_dense.inference.timing import StageTimer

    timer = StageTimer()
    with timer.stage("inference"):
        torch.ones(1)
    timer.images = 2
    line = timer.summary()
    assert "ms pre-process" in line and "ms inference" in line and "ms post-process per image (2 images)" in line
    with timer.stage("tracking"):
        torch.ones(1)
    assert "ms post-process, " in timer.summary() and "ms tracking per image (2 images)" in timer.summary()


def test_stream_gives_each_frame_with_the_tasks_state_and_resets(predictors, monkeypatch):
    predictor, _, _ = predictors("det")
    frames = [np.array(Image.open(p).convert("RGB")) for p in sorted(predictor.task.val_set().img_dir.glob("*.png"))]
    stream = predictor.stream()
    alone = [predictor(frame) for frame in frames[:3]]
    streamed = [stream(frames[0]), *stream(frames[1:3])]
    assert stream.frames == 3 and stream.state is None  # detection keeps nothing between frames
    for a, b in zip(alone, streamed, strict=True):  # a batch of two frames shares a forward pass
        np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-3)

    # A task that keeps state sees the same object for every frame of one video and a new one after reset().
    seen = []
    info = dataclasses.replace(predictor.task.info, stream_state=lambda task, tracker: {"frames": []})
    monkeypatch.setattr(predictor.task, "info", info)
    original = predictor.task.predict

    def remembering(model, images, run, **options):
        run.state["frames"].extend(range(len(images)))
        seen.append(run.state)
        return original(model, images, **options)

    monkeypatch.setattr(predictor.task, "predict", remembering)
    stream = predictor.stream()
    stream(frames[0])
    stream(frames[1:3])
    assert seen[0] is seen[1] and seen[1]["frames"] == [0, 0, 1]
    stream.reset()
    stream(frames[0])
    assert stream.frames == 1 and seen[2] is not seen[0] and seen[2]["frames"] == [0]


def test_per_image_fields_reach_the_heads_and_stay_with_each_result(predictors, monkeypatch):
    """``predictor(image, calib=K, image_id=7)``: the heads that map detections back to the image get the image's
    fields (``ToImage.fields``) and the result keeps them; a list of images takes one value per image; a stream
    takes a frame's fields."""
    from dla_dense.heads import BoxHead

    predictor, _, _ = predictors("det")
    frames = [np.array(Image.open(p).convert("RGB")) for p in sorted(predictor.task.val_set().img_dir.glob("*.png"))]
    seen = []
    original = BoxHead.to_image
    monkeypatch.setattr(
        BoxHead, "to_image", lambda head, found, back: seen.append(back.fields) or original(head, found, back)
    )
    calib = np.array([[700.0, 0, 32, 0], [0, 700.0, 32, 0], [0, 0, 1, 0]])
    result = predictor(frames[0], calib=calib, image_id=7)
    assert result.fields["image_id"] == 7 and result.fields["calib"] is calib and seen[-1]["calib"] is calib
    alone = predictor(frames[0])
    assert dict(alone.fields) == {} and seen[-1] == {}
    np.testing.assert_array_equal(alone.boxes, result.boxes)  # fields no head reads change nothing

    both = predictor(frames[:2], image_id=[3, 4])
    assert [r.fields["image_id"] for r in both] == [3, 4] and [f["image_id"] for f in seen[-2:]] == [3, 4]
    with pytest.raises(DLADenseError, match=r"image_id= must give one value per image \(a list of 2\)"):
        predictor(frames[:2], image_id=3)
    stream = predictor.stream()
    assert stream(frames[0], frame_id=1).fields == {"frame_id": 1}
    assert [r.fields["frame_id"] for r in stream(frames[1:3], frame_id=[2, 3])] == [2, 3]

    seg, _, _ = predictors("seg")
    image = np.zeros((64, 128, 3), np.uint8)
    found = seg(image, probabilities=True, image_id=5)  # the task's own option stays the task's
    assert found.probabilities is not None and found.fields == {"image_id": 5}


@pytest.mark.parametrize("task", ["det", "track"])
def test_evaluation_hands_each_items_image_fields_to_the_heads(task, predictors, monkeypatch):
    """The reader's fields of the image itself (``image_id``; for videos ``video`` and ``frame_id``) reach the
    heads that map detections back, during evaluation too; annotations do not."""
    from dla_dense.heads import BoxHead

    predictor, _, _ = predictors(task)
    seen = []
    original = BoxHead.to_image
    monkeypatch.setattr(
        BoxHead, "to_image", lambda head, found, back: seen.append(back.fields) or original(head, found, back)
    )
    dataset = predictor.task.val_set()
    predictor.evaluate(dataset)
    expected = {"image_id"} if task == "det" else {"image_id", "video", "frame_id"}
    assert seen and all(set(fields) == expected for fields in seen)
    if task == "det":
        assert sorted(f["image_id"] for f in seen) == sorted(dataset.image_ids)


def test_post_processed_results_keep_their_image_fields(predictors):
    predictor, _, _ = predictors("det")
    frame = np.array(Image.open(sorted(predictor.task.val_set().img_dir.glob("*.png"))[0]).convert("RGB"))
    result = predictor(frame, image_id=9)
    assert result.nms(0.5).fields == {"image_id": 9} and result.above(0.0).fields == {"image_id": 9}
