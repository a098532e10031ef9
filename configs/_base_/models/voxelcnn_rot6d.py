# Small and fast: the CPU network (throughput: docs/performance.md).
# The SPADES translation statistics: TranslationNormalizer's defaults (written once, in
# sparkpose/codecs/translation_normalizer.py).
codec = dict(type='TranslationNormalizer')
model = dict(
    type='PoseEstimator',
    channels_last=True,
    backbone=dict(type='VoxelCNN', in_channels=10, channels=(16, 32, 64, 128)),
    # A 4×4 grid keeps where the target is (Tx, Ty); global pooling would discard it.
    neck=dict(type='SpatialPooling', output_size=(4, 4)),
    head=dict(
        type='Rot6DPoseHead',
        in_channels=128 * 4 * 4,
        hidden_dim=256,
        dropout=0.1,
        codec=codec,
        loss_translation=dict(type='SmoothL1TranslationLoss', beta=1.0, loss_weight=1.0),
        loss_rotation=dict(type='GeodesicRotationLoss', loss_weight=1.0),
    ),
)
