"""Where each window's pose came from: the status a head reports beside its pose.

A status is an integer code (it travels in tensors and CSV files); its name is
``POSE_STATUSES[code]``. Every window gets a finite pose whatever its status; the status
and a confidence in ``[0, 1]`` say how far to trust it, so that a sequence filter can
replace the doubtful ones and a report can count them.

* ``pnp_ok``: PnP on the confident keypoints.
* ``pnp_all_keypoints``: PnP on the confident ones failed; PnP on every keypoint gave a
  pose in front of the camera of a plausible size (the best estimate the network has;
  confidence 0, so that a sequence filter replaces it by its neighbours' fit).
* ``fallback``: no PnP pose at all; the defined placeholder pose (confidence 0).
* ``no_target``: the crop found no target in the events (pose from the keypoints anyway).
* ``no_events``: the window holds no event; placeholder pose, confidence 0.
* ``regressed``: a direct-regression head's pose (no geometric check).
"""
from collections.abc import Iterable

POSE_STATUSES = ('pnp_ok', 'pnp_all_keypoints', 'fallback', 'no_target', 'no_events',
                 'regressed')


def status_name(code: int) -> str:
    """Name of a status code; an unknown code is an error naming the known ones."""
    if not 0 <= int(code) < len(POSE_STATUSES):
        raise ValueError(f'pose status {code!r} is not one of 0..{len(POSE_STATUSES) - 1} '
                         f'({", ".join(POSE_STATUSES)})')
    return POSE_STATUSES[int(code)]


def status_counts(codes: Iterable[int]) -> dict[str, int]:
    """How many windows have each status (every status listed, zeros included)."""
    counts = dict.fromkeys(POSE_STATUSES, 0)
    for code in codes:
        counts[status_name(code)] += 1
    return counts
