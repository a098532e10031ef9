# EfficientNet-B0 (timm) with a 10-channel stem adapted from ImageNet RGB weights, 6-D head.
codec = dict(type='TranslationNormalizer', mean=[-0.24, 0.03, 5.68], std=[0.93, 0.50, 1.40])
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
