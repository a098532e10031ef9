# The baseline: EventResNet from scratch + quaternion head.
# The SPADES translation statistics: TranslationNormalizer's defaults (written once, in
# sparkpose/codecs/translation_normalizer.py).
codec = dict(type='TranslationNormalizer')
model = dict(
    type='PoseEstimator',
    backbone=dict(type='EventResNet', in_channels=10, stage_channels=(64, 128, 256, 512)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='QuaternionPoseHead',
        in_channels=512,
        hidden_dim=256,
        dropout=0.1,
        codec=codec,
        loss_translation=dict(type='SmoothL1TranslationLoss', beta=1.0, loss_weight=1.0),
        loss_rotation=dict(type='QuaternionRotationLoss', mode='geodesic', loss_weight=1.0),
    ),
)
