# The 6-D regression baseline with aleatoric uncertainty (Kendall & Cipolla): each sample's
# translation and rotation losses are weighed by learnt log-variances, which `predict`
# reports as `pred_log_var` (translation, rotation).
_base_ = ['./rot6d_voxelcnn_1xb32-30e_synthetic-128x128.py']

model = dict(head=dict(type='UncertaintyPoseHead'))
