# Ablation of rot6d-sym_voxelcnn_1xb32-20e_synthetic-crop64.py: the plain geodesic loss
# against the labelled attitude, no symmetry classifier (README, "Which part of the 6-D
# recipe helps").
_base_ = ['../rot6d-sym_voxelcnn_1xb32-20e_synthetic-crop64.py']

model = dict(head=dict(loss_rotation=dict(_delete_=True, type='GeodesicRotationLoss'),
                       symmetry_classifier=None))
