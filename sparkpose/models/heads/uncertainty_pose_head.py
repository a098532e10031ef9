"""6-D pose head that also predicts aleatoric uncertainty."""
from collections.abc import Sequence

import torch
from torch import nn

from sparkpose.registry import MODELS
from sparkpose.structures import PoseDataSample

from .rot6d_pose_head import Rot6DPoseHead

# Which column of ``log_var`` weighs which loss term: by name, not by the order in which
# ``loss_terms`` happens to return them. The losses are returned (and so summed by
# mmengine) in this order.
LOG_VAR_COLUMNS = {'loss_translation': 0, 'loss_rotation': 1}


@MODELS.register_module()
class UncertaintyPoseHead(Rot6DPoseHead):
    """``Rot6DPoseHead`` plus per-sample log-variances ``s = (s_t, s_r)``.

    Each loss term ``L`` becomes ``exp(-s)·L + s`` (``loss_uncertainty``, Kendall &
    Cipolla), so samples the network finds hard are down-weighted while ``s`` learns their
    error scale. The weighted terms are returned in the fixed order of
    ``LOG_VAR_COLUMNS`` (translation, then rotation), whatever order ``loss_terms`` gives
    them in, so their sum does not depend on a subclass. ``predict`` adds
    ``pred_extras['log_var']`` ``(2,)`` = ``(s_t, s_r)``. The log-variance branch starts at
    zero, i.e. training starts as the plain 6-D head.

    Args:
        loss_uncertainty: Config of the weighting; default
            ``dict(type='UncertaintyWeightedLoss')``.
        **kwargs: ``BasePoseHead`` arguments.
    """

    extra_outputs = ('log_var',)

    def __init__(self, *args, loss_uncertainty: dict | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fc_log_var = nn.Linear(self.fc_translation.in_features, 2)
        nn.init.zeros_(self.fc_log_var.weight)
        nn.init.zeros_(self.fc_log_var.bias)
        self.loss_uncertainty = MODELS.build(
            loss_uncertainty or dict(type='UncertaintyWeightedLoss'))

    def outputs(self, hidden: torch.Tensor) -> dict[str, torch.Tensor]:
        """Translation, rotation and ``log_var`` ``(B, 2)`` outputs."""
        return dict(super().outputs(hidden), log_var=self.fc_log_var(hidden))

    def loss(self, feats: Sequence[torch.Tensor], data_samples: Sequence[PoseDataSample]
             ) -> dict[str, torch.Tensor]:
        """Uncertainty-weighted ``loss_translation`` and ``loss_rotation``."""
        outputs = self(feats)
        terms = self.loss_terms(outputs, data_samples, reduction_override='none')
        if set(terms) != set(LOG_VAR_COLUMNS):
            raise KeyError(f'UncertaintyPoseHead: loss terms {sorted(terms)} do not match the '
                           f'log-variances it weighs, {list(LOG_VAR_COLUMNS)}')
        log_var = outputs['log_var']
        return {name: self.loss_uncertainty(terms[name], log_var[:, column])
                for name, column in LOG_VAR_COLUMNS.items()}

    def decode_samples(self, outputs: dict[str, torch.Tensor],
                       data_samples: Sequence[PoseDataSample]
                       ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """The pose, and ``log_var`` ``(B, 2)`` = (translation, rotation) log-variances."""
        pred_t, pred_q, _ = super().decode_samples(outputs, data_samples)
        return pred_t, pred_q, dict(log_var=outputs['log_var'])
