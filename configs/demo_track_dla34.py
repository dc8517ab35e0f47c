# The embedded default for tracking: CenterTrack on DLA-34 (conv nodes, from scratch) on synthetic videos of
# pedestrians and cars in the MOT layout, written on first use into data/demo_mot (6 training and 3 validation
# sequences of 40 frames, 160x288). Sized for a 2-core CPU. Evaluation tracks the validation videos with
# CenterTrack's tracker (unmatched tracks kept 3 frames, CenterTrack's --max_age; it scored best of the
# trackers on this demo, see docs/tasks/tracking.md) and scores them with TrackEval beside the IoU-only
# baseline on the same detections.
model = dict(task="track", backbone="dla34", num_classes=2, node="conv", head_conv=128, pretrained=False)
data = dict(
    dataset="mot",
    root="data/demo_mot",
    synthetic=dict(num_train=6, num_val=3, frames=40, size=(160, 288), seed=0),
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
    same_aug=True,
    hm_disturb=0.05,
    lost_disturb=0.4,
    fp_disturb=0.1,
    batch_size=8,
    num_workers=0,
)
optim = dict(name="adam", lr=1e-3, weight_decay=0.0, schedule="poly", power=0.9, warmup_iters=20)
train = dict(
    max_iters=500,
    val_interval=250,
    checkpoint_interval=250,
    log_interval=25,
    seed=0,
    amp="auto",
    channels_last=True,
)
evaluation = dict(
    input_size=(160, 288), tracker="centertrack", track_thresh=0.4, pre_thresh=0.5, max_age=3, baseline=True
)
