"""Pose from 2-D keypoints by PnP (OpenCV): the decoding step of keypoint heads."""
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class PnPResult:
    """One PnP solution.

    Attributes:
        ok: Whether PnP found a pose in front of the camera from enough keypoints.
        rotation: ``(3, 3)`` body-to-camera rotation (the fallback's when not ``ok``).
        translation: ``(3,)`` metres.
        num_inliers: Keypoints that agree with the pose (0 when not ``ok``).
    """

    ok: bool
    rotation: np.ndarray
    translation: np.ndarray
    num_inliers: int


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


def solve_pnp(points_3d: np.ndarray, points_2d: np.ndarray, confidence: np.ndarray,
              cam_K: np.ndarray, min_confidence: float = 0.2, min_points: int = 6,
              reprojection_px: float = 3.0) -> PnPResult | None:
    """Robust PnP on the confident keypoints: EPnP inside RANSAC, then Levenberg–Marquardt.

    Args:
        points_3d: ``(K, 3)`` body-frame keypoints (m).
        points_2d: ``(K, 2)`` predicted pixels (same pixel frame as ``cam_K``).
        confidence: ``(K,)`` in ``[0, 1]``; keypoints below ``min_confidence`` are left out.
        cam_K: ``(3, 3)`` intrinsics of the network input (cropped and scaled).
        min_confidence: Confidence a keypoint needs to take part.
        min_points: Fewest confident keypoints (and RANSAC inliers) to accept a pose.
        reprojection_px: RANSAC inlier threshold (pixels of the input).

    Returns:
        The pose with ``ok=True``, or ``None`` when there are too few confident keypoints,
        RANSAC fails, the refined pose is not finite or lies behind the camera.
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
    return PnPResult(True, rotation, translation, len(inliers))


def plausible_size(result: PnPResult, cam_K: np.ndarray, body_radius: float,
                   input_width: int, low: float = 0.2, high: float = 3.0) -> bool:
    """Whether the body's apparent diameter at the solved depth is ``low``–``high`` input
    widths: crops are cut to the target, so a pose far outside that range (e.g. PnP on
    keypoints that all sit on one pixel puts the body at a huge depth) is not an estimate."""
    diameter = cam_K[0, 0] * 2 * body_radius / result.translation[2]
    return low * input_width <= diameter <= high * input_width
