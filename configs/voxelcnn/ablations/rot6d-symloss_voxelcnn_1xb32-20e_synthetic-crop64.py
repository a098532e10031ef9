# Ablation of rot6d-sym_voxelcnn_1xb32-20e_synthetic-crop64.py: the loss modulo the body's
# near-symmetries, without the symmetry classifier (README, "Which part of the 6-D recipe
# helps").
_base_ = ['../rot6d-sym_voxelcnn_1xb32-20e_synthetic-crop64.py']

model = dict(head=dict(symmetry_classifier=None))
