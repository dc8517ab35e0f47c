# CenterNet ctdet with DLA-34 and deformable (DCN) nodes on COCO 2017, CenterNet's 1x recipe: 512x512 input,
# Adam lr 5e-4 at batch 128 (linear scaling rule: lr = 5e-4 * global_batch / 128), 140 epochs with x0.1 drops
# at epochs 90 and 120, random scale 0.6-1.3 + shift crop, flip, colour + PCA lighting; ImageNet weights for
# the backbone. Budget: 8 GPUs x batch 16 = 128 images per step; 140 epochs of 118,287 images = 129,376
# iterations. Launch: torchrun --nproc_per_node=8 tools/train_det.py configs/coco_centernet_dla34.py
# Data: data/coco/annotations/instances_{train,val}2017.json and data/coco/{train,val}2017/*.jpg
model = dict(task="det", backbone="dla34", num_classes=80, node="dcn", head_conv=256, pretrained=True)
data = dict(
    dataset="coco",
    root="data/coco",
    train_split="train2017",
    val_split="val2017",
    coco_ann_file="annotations/instances_{split}.json",
    coco_img_dir="{split}",
    crop_size=(512, 512),
    crop_scale_range=(0.6, 1.4),
    hflip=True,
    color_aug=True,
    max_objs=128,
    radius_mode="centernet",
    batch_size=16,
)
optim = dict(name="adam", lr=5e-4, weight_decay=0.0, schedule="step", steps=(83170, 110894), gamma=0.1, warmup_iters=0)
train = dict(max_iters=129376, val_interval=10000, checkpoint_interval=5000, log_interval=50, amp="none")
evaluation = dict(input_size=None, max_dets=100, scales=(1.0,), flip=False)
