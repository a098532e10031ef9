# Direct regression on the same object-centric 64×64 crops as the keypoint demo: 6-D
# rotation with a loss modulo the body's near-symmetries plus a classifier that picks the
# symmetry element, translation from the crop geometry. The baseline the keypoint head is
# measured against (README learning curve).
_base_ = ['../keypoint/kpt_voxelcnn-fusion_1xb32-9e_synthetic-crop64.py']

data_root = 'data/demo/'
body_model = data_root + 'body.json'

model = dict(
    backbone=dict(channels=(32, 64, 96, 128), out_indices=(-1,)),
    neck=dict(_delete_=True, type='SpatialPooling', output_size=(4, 4)),
    head=dict(
        _delete_=True,
        type='Rot6DPoseHead',
        in_channels=128 * 4 * 4,
        hidden_dim=256,
        dropout=0.1,
        codec=dict(type='CropTranslationCodec'),
        loss_translation=dict(type='SmoothL1TranslationLoss', beta=1.0, loss_weight=1.0),
        loss_rotation=dict(type='SymmetricGeodesicLoss', body_model=body_model),
        symmetry_classifier=dict(body_model=body_model, loss_weight=0.5),
    ),
)

# 20 epochs, as its name says (the keypoint base trains 24).
max_epochs = 20
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min_ratio=0.01, by_epoch=True,
         begin=0, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
