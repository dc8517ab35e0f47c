# The embedded default for keypoints: CenterNet multi_pose on DLA-34 (conv nodes, trained from scratch) on
# synthetic stick-figure people in COCO's 17-joint person schema (so COCO's keypoint path, its OKS sigmas and
# flip pairs run), written as a COCO keypoints json on first use into data/demo_people. The detection demo's
# recipe (bf16 where the CPU has it, channels-last, batch 16 at 128x128 crops, full-resolution evaluation) with
# two changes for the 10-minute budget of a 2-core CPU: heads of 64 channels (CenterNet's default for its
# ResNets; DLA's is 256, as in coco_pose_dla34.py), which makes a step about 15 % cheaper, and crops of
# 0.5-0.9x the image side, so that training sees the figures at 0.55-1.0x, near the full-resolution test
# scale. The figures are 24-128 px tall, mostly below COCO's "medium" size, where this much training leaves the
# joints a few pixels less precise than COCO's tolerance; the demo therefore declares a tolerance of 4x COCO's
# sigmas (evaluation.sigma_scale, printed with the AP) and prints the standard-sigma AP beside it.
_base_ = "demo_centernet_dla34.py"
model = dict(task="pose", num_classes=1, num_joints=17, head_conv=64)
data = dict(
    root="data/demo_people",
    synthetic=dict(num_train=800, num_val=80, size=(256, 256), max_people=4, seed=0),
    coco_ann_file="annotations/person_keypoints_{split}.json",
    crop_scale_range=(0.5, 1.0),
)
train = dict(max_iters=650, val_interval=650, checkpoint_interval=325)
evaluation = dict(max_dets=32, sigma_scale=4.0)
