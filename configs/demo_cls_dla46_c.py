# Classification fine-tuning on a synthetic ImageFolder of four shapes (generated on first use into
# data/demo_shape_folders), so tools/train_cls.py runs on any machine without a download.
model = dict(task="cls", backbone="dla46_c", num_classes=4, pretrained=False)
data = dict(
    dataset="imagefolder",
    root="data/demo_shape_folders",
    synthetic=dict(num_train=40, num_val=12, size=64, seed=0),
    crop_size=(64, 64),
    area_range=(0.6, 1.0),
    color_jitter=0.2,
    batch_size=16,
    val_batch_size=32,
)
optim = dict(name="adamw", lr=2e-3, weight_decay=0.05, schedule="poly", warmup_iters=10)
train = dict(max_iters=150, val_interval=75, checkpoint_interval=75, log_interval=25, seed=0)
