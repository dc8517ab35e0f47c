# The embedded default for detection: CenterNet on DLA-34 (conv nodes, trained from scratch) on synthetic
# shapes written as a COCO json on first use into data/demo_shapes. Sized for a 2-core CPU: bf16 autocast where
# the CPU has native bf16 (AMX / AVX512-BF16; train.amp="auto"), channels-last, data loaded in-process.
# Many small crops (batch 16 at 128x128) learn faster per second than fewer large ones (batch 8 at 192x192);
# evaluation runs on the full 256x256 images (evaluation.input_size=None).
model = dict(task="det", backbone="dla34", num_classes=4, node="conv", head_conv=256, pretrained=False)
data = dict(
    dataset="coco",
    root="data/demo_shapes",
    synthetic=dict(num_train=400, num_val=80, size=(256, 256), seed=0),
    coco_ann_file="annotations/instances_{split}.json",
    coco_img_dir="images/{split}",
    crop_size=(128, 128),
    crop_scale_range=(0.6, 1.4),
    hflip=True,
    color_aug=True,
    batch_size=16,
    num_workers=0,
)
optim = dict(name="adam", lr=2e-3, weight_decay=0.0, schedule="poly", power=0.9, warmup_iters=20)
train = dict(
    max_iters=600,
    val_interval=300,
    checkpoint_interval=300,
    log_interval=25,
    seed=0,
    amp="auto",
    channels_last=True,
)
evaluation = dict(input_size=None, max_dets=100)
