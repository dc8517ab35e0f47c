# The embedded default: DLA-34 + DLA-up trained from scratch on synthetic street scenes written in the
# Cityscapes layout (generated on first use into data/demo_cityscapes), so the Cityscapes code path runs
# on any machine without a download. Sized for a 2-core CPU.
# The scenes hold nine Cityscapes classes; data.classes trains and evaluates on those (the rest is ignored).
model = dict(task="seg", backbone="dla34", num_classes=9, down_ratio=2, pretrained=False)
data = dict(
    dataset="cityscapes",
    root="data/demo_cityscapes",
    synthetic=dict(num_train=200, num_val=40, size=(128, 256), seed=0),
    classes=("road", "sidewalk", "building", "pole", "traffic sign", "vegetation", "sky", "person", "car"),
    crop_size=(128, 256),
    scale_range=(0.75, 1.5),
    rotate=5.0,
    color_jitter=0.2,
    hflip=True,
    batch_size=8,
    val_batch_size=8,
)
optim = dict(name="adam", lr=1e-3, weight_decay=1e-4, schedule="poly", power=0.9, warmup_iters=20)
train = dict(max_iters=300, val_interval=150, checkpoint_interval=100, log_interval=25, seed=0)
evaluation = dict(mode="whole")
