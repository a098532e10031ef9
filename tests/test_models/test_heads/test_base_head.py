"""BaseHead: predict writes the declared extra outputs, and only those, into pred_extras."""
import pytest
import torch

from sparkpose.models.heads import Rot6DPoseHead
from sparkpose.structures import PoseDataSample


class ScoredHead(Rot6DPoseHead):
    """A regression head that also reports a per-sample score."""

    extra_outputs = ('score',)

    def extras(self, outputs, pred_t):
        return dict(score=outputs['translation'][:, 0])

    def decode_samples(self, outputs, data_samples):
        pred_t, pred_q, _ = super().decode_samples(outputs, data_samples)
        return pred_t, pred_q, self.extras(outputs, pred_t)


class UndeclaredHead(ScoredHead):
    """Returns an extra output it does not declare."""

    def extras(self, outputs, pred_t):
        return dict(super().extras(outputs, pred_t), other=pred_t)


def test_declared_extras_reach_each_sample():
    head = ScoredHead(in_channels=8, hidden_dim=16).eval()
    feats = (torch.randn(3, 8),)
    samples = head.predict(feats, [PoseDataSample() for _ in range(3)])
    expected = head(feats)['translation'][:, 0]
    assert [float(s.extra_output('score')) for s in samples] == expected.tolist()
    assert samples[0].extra_output('pose_status', 'absent') == 'absent'


def test_undeclared_extras_are_refused():
    head = UndeclaredHead(in_channels=8, hidden_dim=16).eval()
    with pytest.raises(RuntimeError, match=r"returned extra outputs \['other', 'score'\], the "
                                           r"head declares extra_outputs=\['score'\]"):
        head.predict((torch.randn(3, 8),), [PoseDataSample() for _ in range(3)])
