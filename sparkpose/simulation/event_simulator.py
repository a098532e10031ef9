"""ESIM / v2e contrast-threshold event model on a sequence of rendered frames.

A pixel keeps the log intensity of its last event (its memory) and fires an ON (OFF) event
each time the current log intensity rises (falls) one contrast threshold past it. Between
two frames the log intensity is taken as linear in time, which dates each crossing (ESIM,
Rebecq et al. 2018); frames must therefore be close enough that edges move about one pixel
between them. v2e (Hu et al. 2021) supplies the rest: per-pixel thresholds, the log curve
that turns linear near black, a refractory period, leak and shot noise.

Simplifications, stated: after an event the memory is set to the crossed level (a DVS pixel
resets to its input); crossings inside the refractory period are skipped, not queued (one
still pending when the dead time ends fires then); pixels black in both of two consecutive
frames are not visited, so a crossing still pending there waits for the body to return.
Leak and shot noise are generated as independent processes over the whole sensor and do not
reset the memory.
"""
import numpy as np

# lin_log works in the 8-bit scale v2e uses (its default linear part is below 20 DN).
_DN_SCALE = 255.0


def lin_log(intensity: np.ndarray, threshold: float = 20 / 255) -> np.ndarray:
    """v2e's log intensity that is linear below ``threshold`` so black stays finite.

    Args:
        intensity: Intensities in ``[0, 1]``, any shape.
        threshold: Intensity below which the curve is linear (through 0 at black).

    Returns:
        float32 log intensity of the same shape; 0 for black, ``ln(255 · I)`` above the
        threshold, continuous at it.
    """
    dn = np.asarray(intensity, np.float32) * np.float32(_DN_SCALE)
    thr = np.float32(threshold * _DN_SCALE)
    return np.where(dn >= thr, np.log(np.maximum(dn, thr)), dn * (np.log(thr) / thr))


class EventSimulator:
    """Turn rendered frames into events, frame after frame.

    Args:
        size: Sensor ``(W, H)`` in pixels.
        rng: Source of the per-pixel thresholds and of the noise.
        contrast_threshold: Mean ON and OFF threshold (log-intensity units).
        threshold_sigma: Pixel-to-pixel standard deviation of the thresholds.
        refractory_period: Dead time (s) after an event of the same pixel.
        lin_log_threshold: See :func:`lin_log`.
        leak_rate: Mean rate (Hz per pixel) of leak ON events.
        shot_noise_rate: Rate (Hz per pixel) of shot-noise events of either polarity.
    """

    def __init__(self, size: tuple[int, int], rng: np.random.Generator,
                 contrast_threshold: float = 0.25, threshold_sigma: float = 0.03,
                 refractory_period: float = 5e-4, lin_log_threshold: float = 20 / 255,
                 leak_rate: float = 0.1, shot_noise_rate: float = 0.05) -> None:
        self.size = tuple(size)
        self.rng = rng
        shape = self.size[::-1]
        # Clipped so a far tail sample cannot make a pixel fire without limit.
        thresholds = rng.normal(contrast_threshold, threshold_sigma, (2,) + shape)
        self.thresholds = np.maximum(thresholds, 0.2 * contrast_threshold).astype(np.float32)
        self.refractory_period = refractory_period
        self.lin_log_threshold = lin_log_threshold
        self.leak_rate = leak_rate
        self.shot_noise_rate = shot_noise_rate
        self._log = np.zeros(shape, np.float32)  # log intensity of the last frame
        self._memory = np.zeros(shape, np.float32)
        self._last_event = np.full(shape, -np.inf)
        self._bbox = (0, 0, 0, 0)  # where the last frame was not black
        self._time = None

    def reset(self, crop: np.ndarray, bbox: tuple[int, int, int, int], time: float) -> None:
        """Start from a frame without events: every memory equals its pixel's log intensity.

        Args:
            crop: Intensities of the frame inside ``bbox`` (black outside), see
                :func:`~sparkpose.simulation.renderer.render_region`.
            bbox: ``(x0, y0, x1, y1)`` of ``crop`` in the image, end exclusive.
            time: Frame time (s).
        """
        self._log[:] = 0
        x0, y0, x1, y1 = bbox
        self._log[y0:y1, x0:x1] = lin_log(crop, self.lin_log_threshold)
        self._memory[:] = self._log
        self._last_event[:] = -np.inf
        self._bbox, self._time = tuple(bbox), time

    def step(self, crop: np.ndarray, bbox: tuple[int, int, int, int], time: float
             ) -> dict[str, np.ndarray]:
        """Take the next frame and return the events since the previous one.

        Args:
            crop: Intensities inside ``bbox``, black outside (as for :meth:`reset`).
            bbox: ``(x0, y0, x1, y1)`` of ``crop``, end exclusive.
            time: Frame time (s), after the previous frame's.

        Returns:
            ``x, y`` uint16 pixels, ``t`` float64 seconds in ``[previous time, time]``,
            ``p`` uint8 (1 ON, 0 OFF), in no particular order.
        """
        if self._time is None:
            raise RuntimeError('EventSimulator.step called before reset')
        # Only pixels that are not black in this frame or the last one can change.
        rx0, ry0 = min(bbox[0], self._bbox[0]), min(bbox[1], self._bbox[1])
        rx1, ry1 = max(bbox[2], self._bbox[2]), max(bbox[3], self._bbox[3])
        region = (slice(ry0, ry1), slice(rx0, rx1))
        new = np.zeros((ry1 - ry0, rx1 - rx0), np.float32)
        new[bbox[1] - ry0:bbox[3] - ry0, bbox[0] - rx0:bbox[2] - rx0] = lin_log(
            crop, self.lin_log_threshold)
        diff = new - self._memory[region]
        on_thr, off_thr = self.thresholds[0][region], self.thresholds[1][region]
        rows, cols = np.nonzero((diff >= on_thr) | (diff <= -off_thr))
        rows, cols = rows + ry0, cols + rx0
        log0, log1 = self._log[rows, cols], new[rows - ry0, cols - rx0]
        self._log[region] = new
        t0, self._bbox, self._time = self._time, tuple(bbox), time

        memory = self._memory[rows, cols]
        sign = np.where(log1 > memory, 1, -1).astype(np.float32)
        thr = self.thresholds[(sign < 0).astype(np.intp), rows, cols]
        counts, times, level, last = self._emit(log0, log1, memory, sign, thr,
                                                self._last_event[rows, cols], t0, time)
        self._memory[rows, cols] = memory + sign * thr * level
        self._last_event[rows, cols] = last
        return dict(x=np.repeat(cols.astype(np.uint16), counts),
                    y=np.repeat(rows.astype(np.uint16), counts), t=times,
                    p=np.repeat(sign > 0, counts).astype(np.uint8))

    def _emit(self, log0, log1, memory, sign, thr, last, t0, t1):
        """Date the threshold crossings of firing pixels, honouring the refractory period.

        Crossing ``k = 1 .. n`` of a pixel is the level ``memory + sign·k·thr``; it happens
        where the linear log intensity from ``log0`` (at ``t0``) to ``log1`` (at ``t1``)
        reaches it, or at ``t0`` if it was already passed (a crossing held back by the
        refractory period). Each round emits, per pixel, the first crossing at least one
        refractory period after the pixel's previous event.

        Returns:
            ``(counts, times, level, last)``: events per pixel; their times grouped by pixel
            in pixel order (as ``np.repeat`` expects); the crossing index ``k`` of each
            pixel's last event (0 if none); the pixels' new last-event times.
        """
        dt = t1 - t0
        rise = sign * (log1 - log0)  # progress towards the crossings during the frame
        offset = sign * (memory - log0)
        n = np.floor(sign * (log1 - memory) / thr)
        level = np.zeros_like(n)
        last = last.copy()
        pixel_events = []  # per round: (pixel indices, times)
        active = np.arange(len(n))
        while len(active):
            earliest = last[active] + self.refractory_period
            frac = np.clip((earliest - t0) / dt, 0, None)
            ahead = rise[active] > 0
            with np.errstate(divide='ignore', invalid='ignore'):
                needed = np.where(frac > 0, (frac * rise[active] - offset[active])
                                  / thr[active], -np.inf)
            k = np.maximum(level[active] + 1, np.ceil(needed))
            # Without progress nothing can be crossed after t0.
            ok = (k <= n[active]) & (frac <= 1) & (ahead | (frac == 0))
            active, k = active[ok], k[ok]
            with np.errstate(divide='ignore', invalid='ignore'):
                when = np.clip((offset[active] + k * thr[active]) / rise[active], 0, 1)
            when = t0 + dt * np.where(rise[active] > 0, when, 0)
            pixel_events.append((active, when))
            level[active], last[active] = k, when
        if pixel_events:
            index = np.concatenate([a for a, _ in pixel_events])
            times = np.concatenate([w for _, w in pixel_events])
            order = np.argsort(index, kind='stable')
            counts = np.bincount(index, minlength=len(n))
            return counts, times[order], level, last
        return np.zeros(len(n), np.intp), np.zeros(0), level, last

    def noise_events(self, t_end: float) -> dict[str, np.ndarray]:
        """Leak and shot-noise events over ``(0, t_end]`` on the whole sensor.

        Leak: each pixel fires ON events periodically at its own rate (10 % spread) with a
        random phase. Shot noise: a Poisson process per pixel, polarity at random.

        Returns:
            ``x, y`` uint16, ``t`` float64 seconds, ``p`` uint8, in no particular order.
        """
        width, height = self.size
        num_pixels = width * height
        rate = self.leak_rate * np.clip(1 + 0.1 * self.rng.standard_normal(num_pixels), 0, None)
        phase = self.rng.random(num_pixels)
        counts = np.floor(rate * t_end + phase).astype(np.intp)
        pixel = np.repeat(np.arange(num_pixels), counts)
        # The k-th leak event of a pixel (k = 0, 1, ...) comes at (k + 1 - phase) / rate.
        k = np.arange(len(pixel)) - np.repeat(np.cumsum(counts) - counts, counts)
        leak_t = (k + 1 - phase[pixel]) / rate[pixel]

        num_shot = self.rng.poisson(self.shot_noise_rate * num_pixels * t_end)
        shot_pixel = self.rng.integers(0, num_pixels, num_shot)
        shot_t = t_end * (1 - self.rng.random(num_shot))  # in (0, t_end]
        shot_p = self.rng.integers(0, 2, num_shot, dtype=np.uint8)

        pixel = np.concatenate([pixel, shot_pixel])
        return dict(x=(pixel % width).astype(np.uint16), y=(pixel // width).astype(np.uint16),
                    t=np.concatenate([leak_t, shot_t]),
                    p=np.concatenate([np.ones(len(leak_t), np.uint8), shot_p]))
