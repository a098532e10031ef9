from .base_backbone import BaseBackbone
from .event_resnet import EventResNet
from .timm_backbone import TimmBackbone, adapt_input_conv_weight
from .voxel_cnn import VoxelCNN

__all__ = ['BaseBackbone', 'EventResNet', 'TimmBackbone', 'VoxelCNN', 'adapt_input_conv_weight']
