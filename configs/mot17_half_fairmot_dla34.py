# FairMOT's MOT17-half recipe (experiments/mot17_half_dla34.sh): DLA-34 with deformable nodes from CenterNet's COCO
# detector (ctdet_coco_dla_2x.pth, via --cfg-options model.init_from=PATH), ltrb box head and 128-d embeddings,
# uncertainty-weighted losses, RGB / 255 input at 608x1088; Adam lr 1e-4 at batch 12 (linear scaling rule: lr =
# 1e-4 * global_batch / 12), 30 epochs with x0.1 at epoch 20. Trained on the first half of each MOT17 training
# sequence (the SDP copies, as FairMOT's labels; every row with flag 1, no visibility filter) and tracked on the
# second half with the JDE tracker (conf_thres 0.4), beside BYTE and the IoU-only baseline on the same detections.
# MOT17 train half: 7 sequences, 2,664 frames -> 222 iterations per epoch at batch 12, 6,660 iterations, drop at
# 4,440. The halves are CenterTrack's (FairMOT's own split starts one frame later, docs/tasks/reid.md).
# Launch: torchrun --nproc_per_node=2 tools/train_fairmot.py configs/mot17_half_fairmot_dla34.py
# Data: data/MOT17/train/MOT17-XX-SDP/{img1,gt/gt.txt,seqinfo.ini} (the MOT Challenge download, unchanged); FairMOT's
# own label files work too: data.dataset="jde" with data.jde_lists (docs/tasks/reid.md).
model = dict(
    task="fairmot",
    backbone="dla34",
    num_classes=1,
    node="dcn",
    head_conv=256,
    pretrained=True,
    ltrb=True,
    reid_dim=128,
    id_weighting="uncertainty",
    init_from=None,
)
data = dict(
    dataset="mot",
    root="data/MOT17",
    train_split="train_half",
    val_split="val_half",
    mot_classes=(1,),
    mot_sequences="*SDP",
    min_visibility=0.0,
    crop_size=(608, 1088),
    crop_scale_range=(0.5, 1.2),
    hflip=True,
    color_aug=True,
    max_objs=500,
    batch_size=6,
)
optim = dict(name="adam", lr=1e-4, weight_decay=0.0, schedule="step", steps=(4440,), gamma=0.1, warmup_iters=0)
train = dict(max_iters=6660, val_interval=1110, checkpoint_interval=555, log_interval=20, amp="none")
evaluation = dict(
    input_size=(608, 1088), tracker="jde", track_thresh=0.4, reid_match_thresh=0.4, compare_trackers=("byte",)
)
