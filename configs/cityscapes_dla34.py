# DLA-34 + DLA-up on Cityscapes fine (19 classes), the ucbdrive/dla segment.py recipe scaled to a budget of
# 4 GPUs x batch 4 (16 images per step, as the reference), crop 832: SGD lr 0.01, momentum 0.9, wd 1e-4,
# poly decay, random scale 0.5-2 / rotate +-10 / colour jitter / flip, synchronised BatchNorm, ImageNet
# weights for the backbone. 40k iterations = 215 epochs of the 2975 train images (the reference: 500 epochs).
# Launch: torchrun --nproc_per_node=4 tools/train_seg.py configs/cityscapes_dla34.py
# Data layout: data/cityscapes/{leftImg8bit,gtFine}/{train,val}/<city>/ (see README).
model = dict(task="seg", backbone="dla34", num_classes=19, down_ratio=2, pretrained=True)
data = dict(
    dataset="cityscapes",
    root="data/cityscapes",
    crop_size=(832, 832),
    scale_range=(0.5, 2.0),
    rotate=10.0,
    color_jitter=0.3,
    hflip=True,
    batch_size=4,
    val_batch_size=1,
)
optim = dict(name="sgd", lr=0.01, momentum=0.9, weight_decay=1e-4, schedule="poly", power=0.9, warmup_iters=500)
train = dict(max_iters=40000, val_interval=4000, checkpoint_interval=2000, log_interval=50, sync_bn=True, amp="none")
evaluation = dict(mode="whole", tta_scales=(0.5, 0.75, 1.0, 1.25, 1.5, 1.75))
