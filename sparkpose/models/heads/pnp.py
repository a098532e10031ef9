"""Pose from 2-D keypoints by PnP (OpenCV): the solver object keypoint heads build.

OpenCV's conventions are the project's: ``rvec`` is the axis-angle of the body-to-camera
rotation and the camera axes are OpenCV's (x right, y down, z forward), so
``R = Rodrigues(rvec)`` and ``t = tvec`` need no conversion.
"""
from dataclasses import dataclass

import cv2
import numpy as np

from sparkpose.registry import MODELS
from sparkpose.structures import POSE_STATUSES


@dataclass(frozen=True)
class PnPResult:
    """What a solver made of one window; always a finite pose.

    Attributes:
        ok: Whether the pose comes from PnP (``False``: the placeholder of
            :func:`fallback_pose`).
        status: A code of :data:`~sparkpose.structures.POSE_STATUSES`.
        rotation: ``(3, 3)`` body-to-camera rotation.
        translation: ``(3,)`` metres.
        num_inliers: Keypoints that agree with the pose (0 when not ``ok``).
        confidence: In ``[0, 1]``; 0 for a pose a sequence filter should replace.
    """

    ok: bool
    status: int
    rotation: np.ndarray
    translation: np.ndarray
    num_inliers: int
    confidence: float

    @property
    def status_name(self) -> str:
        return POSE_STATUSES[self.status]


def fallback_pose(points_2d: np.ndarray, cam_K: np.ndarray, body_radius: float,
                  input_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The defined pose returned when PnP cannot be trusted (never NaN).

    Identity rotation; the translation lies on the ray through the median predicted
    keypoint (the input centre if none is finite), at the depth where the body's
    bounding sphere spans 80 % of the input width: crops are cut to the target's size,
    so that is its typical depth.
    """
    finite = np.isfinite(points_2d).all(axis=1)
    centre = (np.median(points_2d[finite], axis=0) if finite.any()
              else np.asarray(input_size, np.float64) / 2)
    depth = cam_K[0, 0] * 2 * body_radius / (0.8 * input_size[0])
    ray = np.linalg.solve(cam_K, np.array([centre[0], centre[1], 1.0]))
    return np.eye(3), ray * depth


def ransac_pnp(points_3d: np.ndarray, points_2d: np.ndarray, confidence: np.ndarray,
               cam_K: np.ndarray, min_confidence: float, min_points: int,
               reprojection_px: float) -> tuple[np.ndarray, np.ndarray, int] | None:
    """EPnP inside RANSAC on the confident keypoints, then Levenberg–Marquardt.

    Args:
        points_3d: ``(K, 3)`` body-frame keypoints (m).
        points_2d: ``(K, 2)`` predicted pixels (same pixel frame as ``cam_K``).
        confidence: ``(K,)`` in ``[0, 1]``; keypoints below ``min_confidence`` are left out.
        cam_K: ``(3, 3)`` intrinsics of the network input (cropped and scaled).
        min_confidence: Confidence a keypoint needs to take part.
        min_points: Fewest confident keypoints (and RANSAC inliers) to accept a pose.
        reprojection_px: RANSAC inlier threshold (pixels of the input).

    Returns:
        ``(R (3, 3), t (3,), inliers)``, or ``None`` when there are too few confident
        keypoints, RANSAC fails, the refined pose is not finite or lies behind the camera.
    """
    use = (confidence >= min_confidence) & np.isfinite(points_2d).all(axis=1)
    if use.sum() < max(min_points, 4):
        return None
    obj = np.ascontiguousarray(points_3d[use], np.float64)
    img = np.ascontiguousarray(points_2d[use], np.float64)
    K = np.ascontiguousarray(cam_K, np.float64)
    try:
        found, rvec, tvec, inliers = cv2.solvePnPRansac(
            obj, img, K, None, iterationsCount=100, reprojectionError=reprojection_px,
            confidence=0.99, flags=cv2.SOLVEPNP_EPNP)
        if not found or inliers is None or len(inliers) < min_points:
            return None
        inliers = inliers.ravel()
        rvec, tvec = cv2.solvePnPRefineLM(obj[inliers], img[inliers], K, None, rvec, tvec)
    except cv2.error:
        return None
    rotation = cv2.Rodrigues(rvec)[0]
    translation = tvec.ravel()
    if not (np.isfinite(rotation).all() and np.isfinite(translation).all()
            and translation[2] > 0):
        return None
    return rotation, translation, len(inliers)


@MODELS.register_module()
class RansacPnPSolver:
    """Keypoints and scores of one window → a pose with its status and confidence.

    A window without events gets the placeholder (``no_events``). Otherwise RANSAC PnP on
    the keypoints scoring at least ``min_confidence`` (``pnp_ok``); when that fails and
    ``all_keypoints_pnp``, PnP on every keypoint with twice the inlier threshold
    (``pnp_all_keypoints``, kept if the body's apparent diameter is ``min_size``–
    ``max_size`` input widths: crops are cut to the target, so a pose far outside that
    range is not an estimate); else the placeholder of :func:`fallback_pose`
    (``fallback``). A crop that found no target marks whatever pose comes out
    ``no_target``.

    Confidence: mean score of the best ``num_inliers`` keypoints times the inlier share,
    halved for ``no_target``; 0 for a placeholder and for PnP on all keypoints (a best
    effort that neighbours in time should override: on the demo any weight above 0 made
    the filtered figures worse).

    Args:
        min_confidence: Score a keypoint needs to take part in the first PnP.
        min_keypoints: Fewest confident keypoints (and RANSAC inliers) for that PnP.
        reprojection_px: RANSAC inlier threshold in input pixels.
        all_keypoints_pnp: Retry on all keypoints (4 or more inliers) before the placeholder.
        min_size: Smallest plausible apparent body diameter, in input widths.
        max_size: Largest plausible apparent body diameter, in input widths.
    """

    def __init__(self, min_confidence: float = 0.2, min_keypoints: int = 6,
                 reprojection_px: float = 3.0, all_keypoints_pnp: bool = True,
                 min_size: float = 0.2, max_size: float = 3.0) -> None:
        if min_keypoints < 4:
            raise ValueError(f'RansacPnPSolver: PnP needs 4 or more keypoints, got '
                             f'min_keypoints={min_keypoints!r}')
        self.confident = dict(min_confidence=min_confidence, min_points=min_keypoints,
                              reprojection_px=reprojection_px)
        self.all_keypoints = (dict(min_confidence=0.0, min_points=4,
                                   reprojection_px=2 * reprojection_px)
                              if all_keypoints_pnp else None)
        self.size_range = (min_size, max_size)

    def plausible_size(self, translation: np.ndarray, cam_K: np.ndarray, body_radius: float,
                       input_width: float) -> bool:
        """Whether the body's apparent diameter at depth ``translation[2]`` is in range."""
        diameter = cam_K[0, 0] * 2 * body_radius / translation[2]
        return self.size_range[0] * input_width <= diameter <= self.size_range[1] * input_width

    def __call__(self, points_3d: np.ndarray, points_2d: np.ndarray, scores: np.ndarray,
                 cam_K: np.ndarray, input_size: tuple[float, float], body_radius: float,
                 num_events: int | None = None, crop_fallback: bool = False) -> PnPResult:
        """Solve one window.

        Args:
            points_3d: ``(K, 3)`` body-frame keypoints (m).
            points_2d: ``(K, 2)`` predicted input pixels.
            scores: ``(K,)`` keypoint scores in ``[0, 1]``.
            cam_K: ``(3, 3)`` input intrinsics.
            input_size: Input ``(W, H)`` in pixels.
            body_radius: The body's bounding radius (m), for the size check and placeholder.
            num_events: Events in the window (``0``: no events); ``None``: unknown.
            crop_fallback: Whether the crop found no target.
        """
        solved, status = None, 'no_events'
        if num_events != 0:
            status, solved = 'pnp_ok', ransac_pnp(points_3d, points_2d, scores, cam_K,
                                                  **self.confident)
            if solved is None and self.all_keypoints is not None:
                status = 'pnp_all_keypoints'
                solved = ransac_pnp(points_3d, points_2d, scores, cam_K, **self.all_keypoints)
                if solved is not None and not self.plausible_size(solved[1], cam_K, body_radius,
                                                                  input_size[0]):
                    solved = None
            if solved is None:
                status = 'fallback'
            if crop_fallback:
                status = 'no_target'
        if solved is None:
            rotation, translation = fallback_pose(points_2d, cam_K, body_radius,
                                                  tuple(input_size))
            return PnPResult(False, POSE_STATUSES.index(status), rotation, translation, 0, 0.0)
        rotation, translation, num_inliers = solved
        confidence = 0.0
        if status != 'pnp_all_keypoints':
            best = np.sort(scores)[::-1][:num_inliers]
            confidence = float(best.mean() * num_inliers / len(scores))
            if status == 'no_target':
                confidence /= 2
        return PnPResult(True, POSE_STATUSES.index(status), rotation, translation,
                         num_inliers, confidence)
