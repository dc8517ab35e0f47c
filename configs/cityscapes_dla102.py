# DLA-102 + DLA-up on Cityscapes: the reference README's model (dla102up), same recipe as
# cityscapes_dla34.py. The reference notes it may need 8 GPUs: 8 x batch 2 keeps 16 images per step.
# Launch: torchrun --nproc_per_node=8 tools/train_seg.py configs/cityscapes_dla102.py
_base_ = "cityscapes_dla34.py"
model = dict(backbone="dla102")
data = dict(batch_size=2)
