# SMOKE (lzccccc/SMOKE configs/smoke_gn_vector.yaml): DLA-34 with deformable nodes and GroupNorm everywhere,
# ImageNet-pretrained, keypoint heatmap at the projected 3D centres and one 8-channel regression head trained with
# the disentangled corner loss; input 384 x 1280, mirroring with probability 0.5, shift/scale with probability 0.3;
# Adam at 2.5e-4, batch 32, 25000 iterations with steps at 10000 and 18000 (SMOKE doubles the biases' learning rate,
# which this recipe does not). SMOKE trains on trainval for the test server; here train / val of ImageSets.
model = dict(task="ddd", recipe="smoke", backbone="dla34", num_classes=3, node="dcn", head_conv=256, pretrained=True)
data = dict(
    dataset="kitti",
    root="data/kitti",
    image_sets="ImageSets",
    classes=("Car", "Cyclist", "Pedestrian"),
    crop_size=(384, 1280),
    augmentation="smoke",
    hflip=True,
    aug=0.3,
    shift=0.2,
    scale=0.4,
    max_objs=30,
    batch_size=32,
    num_workers=4,
)
optim = dict(name="adam", lr=2.5e-4, weight_decay=0.0, schedule="step", steps=(10000, 18000), gamma=0.1)
train = dict(max_iters=25000, val_interval=2500, checkpoint_interval=2500, log_interval=50, seed=0)
evaluation = dict(input_size=(384, 1280), max_dets=50, score_thresh=0.25)
