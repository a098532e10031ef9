"""6-D pose head that also predicts aleatoric uncertainty."""
from collections.abc import Sequence

import torch
from torch import nn

from sparkpose.registry import MODELS
from sparkpose.structures import PoseDataSample

from .rot6d_pose_head import Rot6DPoseHead

# Which column of ``log_var`` weighs which loss term: by name, not by the order in which
# ``loss_terms`` happens to return them.
LOG_VAR_COLUMNS = {'loss_translation': 0, 'loss_rotation': 1}


@MODELS.register_module()
class UncertaintyPoseHead(Rot6DPoseHead):
    """``Rot6DPoseHead`` plus per-sample log-variances ``s = (s_t, s_r)``.

    Each loss term ``L`` becomes ``exp(-s)·L + s`` (``loss_uncertainty``, Kendall &
    Cipolla), so samples the network finds hard are down-weighted while ``s`` learns their
    error scale. ``predict`` adds ``pred_log_var`` ``(2,)`` = ``(s_t, s_r)``. The log-variance
    branch starts at zero, i.e. training starts as the plain 6-D head.

    Args:
        loss_uncertainty: Config of the weighting; default
            ``dict(type='UncertaintyWeightedLoss')``.
        **kwargs: ``BasePoseHead`` arguments.
    """

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
        unknown = sorted(set(terms) - set(LOG_VAR_COLUMNS))
        if unknown:
            raise KeyError(f'UncertaintyPoseHead: no log-variance for loss terms {unknown}; '
                           f'it weighs {sorted(LOG_VAR_COLUMNS)}')
        log_var = outputs['log_var']
        return {name: self.loss_uncertainty(term, log_var[:, LOG_VAR_COLUMNS[name]])
                for name, term in terms.items()}

    def add_predictions(self, outputs: dict[str, torch.Tensor],
                        data_samples: Sequence[PoseDataSample]) -> Sequence[PoseDataSample]:
        """Also add ``pred_log_var`` ``(2,)`` = (translation, rotation) log-variances."""
        data_samples = super().add_predictions(outputs, data_samples)
        for sample, log_var in zip(data_samples, outputs['log_var'].detach()):
            sample.pred_log_var = log_var
        return data_samples
