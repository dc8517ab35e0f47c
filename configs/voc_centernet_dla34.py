# CenterNet ctdet with DLA-34 (DCN nodes) on Pascal VOC 07+12, CenterNet's VOC recipe: 384x384 input,
# 70 epochs with x0.1 drops at 45 and 60, Adam 1.25e-4 at batch 32, evaluated on VOC2007 test with flip.
# VOC in COCO-format jsons, as CenterNet's own setup uses them (tools/get_pascal_voc.sh there):
#   data/voc/annotations/pascal_trainval0712.json, pascal_test2007.json and data/voc/images/*.jpg
# Budget: 2 GPUs x batch 16; 70 epochs of 16,551 images = 36,205 iterations.
# Note: COCO AP50 from tools/test_det.py is close to, but not the same metric as, VOC's 11-point mAP.
_base_ = "coco_centernet_dla34.py"
model = dict(num_classes=20)
data = dict(
    root="data/voc",
    train_split="trainval0712",
    val_split="test2007",
    coco_ann_file="annotations/pascal_{split}.json",
    coco_img_dir="images",
    crop_size=(384, 384),
    batch_size=16,
)
optim = dict(lr=1.25e-4, steps=(23275, 31035))
train = dict(max_iters=36205, val_interval=5000, checkpoint_interval=2500)
evaluation = dict(input_size=(384, 384), flip=True)
