# FairMOT on DLA-34 (conv nodes, from scratch) on the embedded re-identification videos, written on first use into
# data/demo_reid: the tracking demo's pedestrians and cars (see demo_track_dla34.py), but every identity wears one of
# nine looks shared across identities and classes, a pillar hides objects for several frames, and objects leave and
# come back. One network detects both classes and gives a 64-d appearance embedding per object; the JDE tracker
# associates by embedding gated by a Kalman filter, per class. Evaluation scores it beside BYTE (motion only) and the
# IoU-only baseline on the same detections. The same recipe without the embedding head:
#   --cfg-options model.reid_dim=0 evaluation.tracker=byte evaluation.compare_trackers=[]
model = dict(task="fairmot", backbone="dla34", num_classes=2, node="conv", head_conv=128, reid_dim=64, pretrained=False)
data = dict(
    dataset="mot",
    root="data/demo_reid",
    synthetic=dict(num_train=6, num_val=3, frames=40, size=(160, 288), seed=0, appearance=True),
    train_split="train",
    val_split="val",
    mot_classes=(1, 3),
    classes=("pedestrian", "car"),
    min_visibility=0.25,
    crop_size=(160, 288),
    crop_scale_range=(0.8, 1.2),
    max_objs=32,
    hflip=True,
    color_aug=True,
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
evaluation = dict(
    input_size=(160, 288),
    tracker="jde",
    track_thresh=0.4,
    reid_match_thresh=0.4,
    compare_trackers=("byte", "byte_reid"),
    baseline=True,
)
