"""Random smooth spacecraft trajectories that keep the target in view.

Pose convention (docs/conventions.md): ``R`` maps body to camera, ``t`` is the body origin in the
camera frame (OpenCV axes, metres).
"""
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

# Frequency ranges (Hz) of the random sinusoids that drive the position: slow, as a
# chaser drifting around its target.
_LATERAL_FREQUENCY = (0.02, 0.1)
_DEPTH_FREQUENCY = (0.01, 0.05)
_NUM_WAVES = 3


@dataclass(frozen=True)
class Trajectory:
    """A tumbling body on a smooth path inside the camera's view.

    Attitude: ``R(t) = exp(t·[ω]×) · R0``, a constant angular velocity ``ω`` in the camera
    frame. Position: ``Tz`` sweeps ``depth_range`` and ``Tx, Ty`` sweep the lateral range
    where the body's bounding sphere stays inside the (margin-shrunk) image, each driven by
    a normalised sum of slow sinusoids.

    Args:
        rotation0: ``(3, 3)`` attitude at ``t = 0``.
        angular_velocity: ``(3,)`` rad/s in the camera frame.
        waves: ``(3, num_waves, 3)``: for ``Tx, Ty, Tz`` the weight, frequency (Hz) and
            phase (rad) of each sinusoid; weights of a coordinate sum to at most 1.
        depth_range: ``(z_min, z_max)`` of ``Tz`` (m).
        view_tangents: ``(2, 2)``: ``[[x_min, x_max], [y_min, y_max]]`` of ``X/Z``, ``Y/Z``
            on the margin-shrunk image border.
        radius: Bounding radius of the body (m).
    """

    rotation0: np.ndarray
    angular_velocity: np.ndarray
    waves: np.ndarray
    depth_range: tuple[float, float]
    view_tangents: np.ndarray
    radius: float

    def _wave(self, coordinate: int, times: np.ndarray) -> np.ndarray:
        weight, frequency, phase = self.waves[coordinate].T
        return np.sin(2 * np.pi * frequency * times[:, None] + phase) @ weight

    def pose(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Poses at the given times.

        Args:
            times: ``(N,)`` seconds.

        Returns:
            ``(R, t)``: ``(N, 3, 3)`` body-to-camera rotations and ``(N, 3)`` translations (m).
        """
        times = np.atleast_1d(np.asarray(times, np.float64))
        spin = Rotation.from_rotvec(times[:, None] * self.angular_velocity).as_matrix()
        z_min, z_max = self.depth_range
        depth = z_min + (z_max - z_min) * (self._wave(2, times) + 1) / 2
        lateral = []
        for axis, (tan_min, tan_max) in enumerate(self.view_tangents):
            # Sphere inside the frustum plane through the border: its centre lies at least
            # ``radius`` on the inner side of the plane.
            low = tan_min * depth + self.radius * np.hypot(1, tan_min)
            high = tan_max * depth - self.radius * np.hypot(1, tan_max)
            lateral.append((low + high) / 2 + (high - low) / 2 * self._wave(axis, times))
        return spin @ self.rotation0, np.stack(lateral + [depth], axis=-1)


def fitting_distance(K: np.ndarray, size: tuple[int, int], radius: float,
                     margin: float = 8.0) -> float:
    """Smallest depth (m) at which a sphere of ``radius`` fits in the image.

    Args:
        K: ``(3, 3)`` intrinsics.
        size: Image ``(W, H)`` in pixels.
        radius: Sphere radius (m).
        margin: Border (pixels) the sphere must keep free.
    """
    tangents = _view_tangents(K, size, margin)
    return float(max(radius * (np.hypot(1, lo) + np.hypot(1, hi)) / (hi - lo)
                     for lo, hi in tangents))


def _view_tangents(K: np.ndarray, size: tuple[int, int], margin: float) -> np.ndarray:
    border = np.array([[margin, size[0] - margin], [margin, size[1] - margin]])
    return (border - np.array([[K[0, 2]], [K[1, 2]]])) / np.array([[K[0, 0]], [K[1, 1]]])


def random_trajectory(rng: np.random.Generator, K: np.ndarray, size: tuple[int, int],
                      radius: float, min_distance: float = 3.0, max_distance: float = 12.0,
                      max_tumble_rate: float = 10.0, margin: float = 8.0,
                      min_tumble_rate: float | None = None) -> Trajectory:
    """Draw a random trajectory.

    Args:
        rng: Random source.
        K: ``(3, 3)`` intrinsics of the image the body must stay in.
        size: Image ``(W, H)`` in pixels.
        radius: Bounding radius of the body (m).
        min_distance: Nearest ``Tz`` (m); raised to the depth at which the body's bounding
            sphere fits in the image, so the whole body is always in view.
        max_distance: Farthest ``Tz`` (m).
        max_tumble_rate: Largest tumble rate (deg/s).
        margin: Border (pixels) the bounding sphere keeps free.
        min_tumble_rate: Smallest tumble rate (deg/s); the rate is drawn uniformly from
            ``[min_tumble_rate, max_tumble_rate]``. ``None``: a quarter of the largest, so
            every trajectory tumbles.

    Returns:
        The trajectory; evaluate it with :meth:`Trajectory.pose`.
    """
    z_min = max(min_distance, fitting_distance(K, size, radius, margin))
    if z_min > max_distance:
        raise ValueError(f'a body of radius {radius:.2f} m needs Tz >= {z_min:.2f} m to fit in '
                         f'a {size[0]}x{size[1]} image, beyond max_distance={max_distance} m')
    quat = rng.standard_normal(4)  # uniform on the rotation group once normalised
    rotation0 = Rotation.from_quat(quat).as_matrix()  # scalar-last, like the project
    axis = rng.standard_normal(3)
    if min_tumble_rate is None:
        min_tumble_rate = 0.25 * max_tumble_rate
    if not 0 <= min_tumble_rate <= max_tumble_rate:
        raise ValueError(f'tumble rate range [{min_tumble_rate}, {max_tumble_rate}] deg/s: '
                         f'expected 0 <= min <= max')
    # Drawn as a fraction of the largest rate: the default range reproduces older files.
    rate = np.deg2rad(max_tumble_rate) * rng.uniform(min_tumble_rate / max_tumble_rate
                                                     if max_tumble_rate else 0.0, 1.0)
    angular_velocity = rate * axis / np.linalg.norm(axis)

    waves = np.empty((3, _NUM_WAVES, 3))
    # Each coordinate uses a random share of its range (some paths stay near the centre).
    extent = np.array([rng.uniform(0, 1), rng.uniform(0, 1), 1.0])
    for coordinate, (f_lo, f_hi) in enumerate([_LATERAL_FREQUENCY] * 2 + [_DEPTH_FREQUENCY]):
        weight = rng.dirichlet(np.ones(_NUM_WAVES)) * extent[coordinate]
        waves[coordinate] = np.stack([weight, rng.uniform(f_lo, f_hi, _NUM_WAVES),
                                      rng.uniform(0, 2 * np.pi, _NUM_WAVES)], axis=-1)
    return Trajectory(rotation0, angular_velocity, waves, (z_min, max_distance),
                      _view_tangents(K, size, margin), radius)
