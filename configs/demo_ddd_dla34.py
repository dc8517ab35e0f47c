# The embedded default for monocular 3D detection: CenterNet ddd on DLA-34 (conv nodes, 64-channel heads, trained
# from scratch) on synthetic street scenes in the KITTI object layout (rendered cuboids of cars, pedestrians and
# cyclists on a ground plane, random camera height, focal length and principal point), written on first use into
# data/demo_kitti. The cameras see 0.9-1.1 image widths of focal length (KITTI's: 0.58) and the objects stand 10-24 m
# away, so that most of them are at least 25 px tall in 96 x 320 images, as KITTI's moderate difficulty counts them.
# CenterTrack's crop / flip augmentation with depth scaled by the crop, losses averaged over the objects.
# Evaluated at CenterNet's loose overlaps (car 0.5) beside the same detections at the training set's mean depth.
model = dict(
    task="ddd", backbone="dla34", num_classes=3, node="conv", head_conv=64, pretrained=False, reduction="objects"
)
data = dict(
    dataset="kitti",
    root="data/demo_kitti",
    synthetic=dict(num_train=200, num_val=40, size=(96, 320), seed=0, focal_range=(0.9, 1.1), depth_range=(10.0, 24.0)),
    image_sets="ImageSets",
    crop_size=(96, 320),
    augmentation="centertrack",
    crop_scale_range=(0.8, 1.2),
    hflip=True,
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
evaluation = dict(input_size=(96, 320), max_dets=100, score_thresh=0.1, overlaps="loose", baseline=True)
