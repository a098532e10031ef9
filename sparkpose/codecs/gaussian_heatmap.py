"""Keypoint heatmaps: a normalised Gaussian per keypoint as target, sub-cell peaks back."""
import torch
import torch.nn.functional as F

from sparkpose.registry import CODECS

from .base_codec import BaseCodec


@CODECS.register_module()
class GaussianHeatmap(BaseCodec):
    """Keypoints in input pixels ↔ one map per keypoint (mmpose's ``MSRAHeatmap`` in spirit).

    Map cell ``j`` covers input pixels ``[j·s, (j + 1)·s)`` with stride ``s = W / w`` (and
    ``H / h``), so its centre is pixel ``(j + 0.5)·s`` (pixel ``x`` covers ``[x, x + 1)``).

    ``encode`` gives, per keypoint, a Gaussian of ``sigma`` cells around its position
    normalised to sum 1 (the target distribution of a softmax over the map), the position
    in cells (the target of a soft-argmax) and a weight (1 inside the input, else 0).

    ``decode`` takes the peak of each map of logits, refined to sub-cell precision by a
    parabola through the peak and its two neighbours along each axis: exact for the
    Gaussian the head is trained towards (its log is a parabola), and it stays at one mode
    of a bimodal map (e.g. two symmetric corners) instead of their middle. The score is the
    softmax mass of the 3×3 cells around the peak, in ``[0, 1]``.

    Args:
        sigma: Standard deviation of the target Gaussian, in map cells, positive.
    """

    def __init__(self, sigma: float = 1.0) -> None:
        if not sigma > 0:
            raise ValueError(f'GaussianHeatmap: sigma must be positive, got sigma={sigma!r}')
        self.sigma = float(sigma)

    @staticmethod
    def stride(input_size: torch.Tensor, heatmap_size: tuple[int, int]) -> torch.Tensor:
        """``(B, 1, 2)`` input pixels per map cell along x and y (``heatmap_size = (h, w)``)."""
        cells = torch.tensor([heatmap_size[1], heatmap_size[0]], dtype=torch.float32,
                             device=input_size.device)
        return (input_size / cells)[:, None]

    def encode(self, keypoints: torch.Tensor, *, cam_K: torch.Tensor | None = None,
               input_size: torch.Tensor | None = None,
               heatmap_size: tuple[int, int] | None = None,
               visible: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Targets of ``(B, K, 2)`` keypoints in input pixels.

        Args:
            keypoints: ``(B, K, 2)`` input pixels.
            cam_K: Ignored (the keypoints are already pixels of the input).
            input_size: ``(B, 2)`` input ``(W, H)`` in pixels.
            heatmap_size: ``(h, w)`` of the maps the head outputs.
            visible: ``(B, K)`` bool, keypoints inside the input; default: all.

        Returns:
            ``heatmaps`` ``(B, K, h, w)`` (each map sums to 1), ``keypoint_cells``
            ``(B, K, 2)`` positions in cells, ``keypoint_weights`` ``(B, K)`` float.
        """
        self.require_geometry('encode', input_size=input_size)
        if heatmap_size is None:
            raise ValueError('GaussianHeatmap.encode needs heatmap_size=(h, w), the size of '
                             'the maps the head outputs')
        h, w = heatmap_size
        cells = keypoints / self.stride(input_size, heatmap_size) - 0.5
        xs = torch.arange(w, device=keypoints.device, dtype=torch.float32)
        ys = torch.arange(h, device=keypoints.device, dtype=torch.float32)
        gauss_x = torch.exp(-0.5 * ((xs - cells[..., 0:1]) / self.sigma) ** 2)
        gauss_y = torch.exp(-0.5 * ((ys - cells[..., 1:2]) / self.sigma) ** 2)
        gauss = gauss_y[..., :, None] * gauss_x[..., None, :]
        gauss = gauss / gauss.sum(dim=(-2, -1), keepdim=True).clamp(min=1e-12)
        weights = (torch.ones(keypoints.shape[:-1], device=keypoints.device) if visible is None
                   else visible.float())
        return dict(heatmaps=gauss, keypoint_cells=cells, keypoint_weights=weights)

    def decode(self, heatmaps: torch.Tensor, *, cam_K: torch.Tensor | None = None,
               input_size: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Keypoints and scores of ``(B, K, h, w)`` logits.

        Args:
            heatmaps: ``(B, K, h, w)`` logits.
            cam_K: Ignored.
            input_size: ``(B, 2)`` input ``(W, H)`` in pixels.

        Returns:
            ``(B, K, 2)`` input pixels and ``(B, K)`` scores in ``[0, 1]``.
        """
        self.require_geometry('decode', input_size=input_size)
        b, k, h, w = heatmaps.shape
        flat = heatmaps.flatten(2)
        peak = flat.argmax(-1)
        py, px = peak // w, peak % w
        cells = []
        for centre, step, length in ((px, 1, w), (py, w, h)):
            inside = (centre > 0) & (centre < length - 1)
            lo = torch.gather(flat, 2, (peak - step * inside)[..., None]).squeeze(-1)
            hi = torch.gather(flat, 2, (peak + step * inside)[..., None]).squeeze(-1)
            mid = torch.gather(flat, 2, peak[..., None]).squeeze(-1)
            curvature = 2 * mid - lo - hi
            offset = torch.where(inside & (curvature > 1e-6),
                                 0.5 * (hi - lo) / curvature.clamp(min=1e-6),
                                 torch.zeros_like(mid))
            cells.append(centre + offset.clamp(-0.5, 0.5))
        prob = F.softmax(flat, dim=-1).view(b, k, h, w)
        window = F.avg_pool2d(prob.flatten(0, 1)[:, None], 3, stride=1, padding=1,
                              count_include_pad=True).view(b, k, h * w) * 9
        mass = torch.gather(window, 2, peak[..., None]).squeeze(-1)
        pixels = (torch.stack(cells, -1) + 0.5) * self.stride(input_size, (h, w))
        return pixels, mass.clamp(0.0, 1.0)
