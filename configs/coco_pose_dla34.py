# CenterNet multi_pose with DLA-34 (DCN nodes) on COCO person keypoints, CenterNet's multi_pose_dla_3x recipe:
# 512x512 input, Adam 5e-4 at batch 128 (8 GPUs x 16), 320 epochs with x0.1 at epochs 270 and 300, random
# scale 0.6-1.4 and shift crop, flip 0.5, colour + PCA lighting, no rotation; flip test at evaluation.
# Linear scaling rule: at another total batch B use optim.lr = 5e-4 * B / 128.
# Initialise from a ctdet COCO checkpoint as CenterNet does: --cfg-options model.pretrained=ctdet_coco_dla_2x.pth
# loads its backbone; or load all matching weights with dla_dense.load_checkpoint(model, path, strict=False).
# COCO 2017 person keypoints: data/coco/annotations/person_keypoints_{train2017,val2017}.json and the images in
# data/coco/{train2017,val2017}/. CenterNet trains on the images that have annotations: max_iters = 320 epochs x
# their number / 128, and the steps at epochs 270 and 300. The values below assume 56,599 such images; count
# those of your json and adjust.
_base_ = "coco_centernet_dla34.py"
model = dict(task="pose", num_classes=1, num_joints=17, node="dcn", head_conv=256)
data = dict(
    root="data/coco",
    train_split="train2017",
    val_split="val2017",
    coco_ann_file="annotations/person_keypoints_{split}.json",
    coco_img_dir="{split}",
    crop_size=(512, 512),
    crop_scale_range=(0.6, 1.4),
    max_objs=32,
    batch_size=16,
)
optim = dict(name="adam", lr=5e-4, weight_decay=0.0, schedule="step", steps=(119389, 132654), gamma=0.1)
train = dict(max_iters=141498, val_interval=10000, checkpoint_interval=5000)
evaluation = dict(input_size=(512, 512), flip=True, max_dets=100)
