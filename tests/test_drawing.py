"""Pictures people can read: label text sized to the image on a filled background, labels that do not cover
each other, one colour per class, a legend beside segmentation overlays."""

import numpy as np

from dla_dense.drawing import _free_spot, add_legend, class_colours, draw_detections, draw_labels, font_size_for


def test_text_grows_with_the_image_within_bounds():
    assert font_size_for(256, 256) == 11 and font_size_for(1024, 2048) == 40 and font_size_for(512, 512) == 18


def test_each_class_has_its_own_colour():
    colours = class_colours(40)
    assert len(set(colours)) == 40 and all(len(c) == 3 and all(0 <= v <= 255 for v in c) for c in colours)


def test_labels_of_boxes_on_one_object_are_stacked_not_overlapping():
    taken = [[10.0, 10.0, 60.0, 24.0]]
    moved = _free_spot([12.0, 12.0, 70.0, 26.0], taken, height=200)
    assert moved[1] == 24.0 and moved[3] == 38.0  # below the first label


def test_label_backgrounds_are_filled_with_the_class_colour():
    image = np.full((256, 256, 3), 128, np.uint8)
    drawn = draw_labels(image, np.array([[40.0, 60.0, 120.0, 150.0]]), ["circle 0.93"], [(255, 0, 0)])
    region = drawn[49:60, 40:99]  # the label sits above the box: red background, white text
    assert (region == (255, 0, 0)).all(-1).mean() > 0.5 and (region.min(-1) > 160).sum() > 20
    assert (drawn[62:, :] == 128).all() and (drawn[:, 110:] == 128).all()


def test_detections_draw_boxes_labels_and_skeletons():
    image = np.zeros((128, 128, 3), np.uint8)
    boxes = np.array([[10, 10, 60, 100], [11, 11, 61, 101]], np.float32)
    keypoints = np.array([[[20, 20, 1], [40, 60, 1]], [[25, 25, 1], [45, 65, 1]]], np.float32)
    drawn = draw_detections(
        image, boxes, np.array([0, 1]), np.array([0.9, 0.5]), ("a", "b"), keypoints=keypoints, skeleton=((0, 1),)
    )
    colours = class_colours(2)
    for colour in colours:
        assert (drawn == colour).all(-1).sum() > 20
    assert drawn.shape == image.shape and not drawn.flags.writeable or drawn.dtype == np.uint8


def test_legend_lists_every_entry_beside_the_image():
    image = np.zeros((64, 100, 3), np.uint8)
    entries = [(f"class {i}", (20 * i, 0, 0)) for i in range(8)]
    out = add_legend(image, entries)
    assert out.shape[0] == 64 and out.shape[1] > 100 + 40
    np.testing.assert_array_equal(out[:, :100], image)
    assert add_legend(image, []) is image
