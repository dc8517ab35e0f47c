# CenterNet's ddd_sub experiment (experiments/ddd_sub.sh): the 3DOP recipe on the KITTI SubCNN split
# (data/kitti/ImageSets_subcnn/{train,val}.txt). The base's iterations count 232 per epoch (3712 images, the 3DOP
# train split's size): set optim.steps and train.max_iters from the line count of your train.txt.
_base_ = "kitti_3dop_ddd_dla34.py"
data = dict(image_sets="ImageSets_subcnn")
