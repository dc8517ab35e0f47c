# The embedded default for monocular 3D detection: CenterNet ddd on DLA-34 (conv nodes, trained from scratch) on
# synthetic street scenes in the KITTI object layout (rendered cuboids of cars, pedestrians and cyclists on a ground
# plane, random camera height, focal length and principal point), written on first use into data/demo_kitti.
# Sized for a 2-core CPU: 128 x 416 images, batch 8, bf16 autocast where the CPU has native bf16.
model = dict(task="ddd", backbone="dla34", num_classes=3, node="conv", head_conv=256, pretrained=False)
data = dict(
    dataset="kitti",
    root="data/demo_kitti",
    synthetic=dict(num_train=200, num_val=40, size=(128, 416), seed=0),
    image_sets="ImageSets",
    crop_size=(128, 416),
    aug=0.5,
    batch_size=8,
    num_workers=0,
)
optim = dict(name="adam", lr=1e-3, weight_decay=0.0, schedule="poly", power=0.9, warmup_iters=20)
train = dict(
    max_iters=600,
    val_interval=300,
    checkpoint_interval=300,
    log_interval=25,
    seed=0,
    amp="auto",
    channels_last=True,
)
evaluation = dict(input_size=(128, 416), max_dets=100, score_thresh=0.1)
