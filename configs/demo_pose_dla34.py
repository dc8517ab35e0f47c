# The embedded default for keypoints: CenterNet multi_pose on DLA-34 (conv nodes, trained from scratch) on
# synthetic stick-figure people in COCO's 17-joint person schema (so COCO's keypoint path, its OKS sigmas and
# flip pairs run), written as a COCO keypoints json on first use into data/demo_people. Sized for a 2-core
# CPU: bf16 autocast where the CPU has it, channels-last, batch 16 at 128x128 crops, full-resolution evaluation.
# The figures are 24-128 px tall, mostly below COCO's "medium" size, where 8 minutes of training leave the joints
# a few pixels less precise than COCO's tolerance; the demo therefore declares a tolerance of 4x COCO's sigmas
# (evaluation.sigma_scale, printed with the AP) and prints the standard-sigma keypoint AP beside it.
model = dict(task="pose", backbone="dla34", num_classes=1, num_joints=17, node="conv", head_conv=256, pretrained=False)
data = dict(
    dataset="coco",
    root="data/demo_people",
    synthetic=dict(num_train=800, num_val=80, size=(256, 256), max_people=4, seed=0),
    coco_ann_file="annotations/person_keypoints_{split}.json",
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
    max_iters=1100,
    val_interval=550,
    checkpoint_interval=275,
    log_interval=25,
    seed=0,
    amp="auto",
    channels_last=True,
)
evaluation = dict(input_size=None, max_dets=32, sigma_scale=4.0)
