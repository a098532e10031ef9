# EfficientNet-B0 (timm) with a 10-channel stem adapted from ImageNet RGB weights, 6-D head.
# The SPADES translation statistics: TranslationNormalizer's defaults (written once, in
# sparkpose/codecs/translation_normalizer.py).
codec = dict(type='TranslationNormalizer')
model = dict(
    type='PoseEstimator',
    backbone=dict(type='TimmBackbone', model_name='efficientnet_b0', in_channels=10,
                  pretrained=None),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='Rot6DPoseHead',
        in_channels=1280,
        hidden_dim=256,
        dropout=0.1,
        codec=codec,
        loss_translation=dict(type='SmoothL1TranslationLoss', beta=1.0, loss_weight=1.0),
        loss_rotation=dict(type='GeodesicRotationLoss', loss_weight=3.0),
    ),
)
