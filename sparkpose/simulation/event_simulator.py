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
import numba
import numpy as np

# lin_log works in the 8-bit scale v2e uses (its default linear part is below 20 DN).
_DN_SCALE = 255.0


@numba.njit(cache=True)
def _lin_log_values(intensity, threshold):
    """:func:`lin_log` of a flat float32 array (float64 arithmetic, float32 result)."""
    thr = threshold * _DN_SCALE
    slope = np.log(thr) / thr
    out = np.empty(intensity.shape, np.float32)
    for i in range(len(intensity)):
        dn = intensity[i] * _DN_SCALE
        out[i] = np.log(dn) if dn >= thr else dn * slope
    return out


def lin_log(intensity: np.ndarray, threshold: float = 20 / 255) -> np.ndarray:
    """v2e's log intensity that is linear below ``threshold`` so black stays finite.

    Args:
        intensity: Intensities in ``[0, 1]``, any shape.
        threshold: Intensity below which the curve is linear (through 0 at black).

    Returns:
        float32 log intensity of the same shape; 0 for black, ``ln(255 · I)`` above the
        threshold, continuous at it.
    """
    intensity = np.asarray(intensity, np.float32)
    return _lin_log_values(intensity.ravel(), float(threshold)).reshape(intensity.shape)


@numba.njit(cache=True)
def _grown(array, capacity, count):
    """A ``capacity``-long array starting with ``array[:count]``."""
    out = np.empty(capacity, array.dtype)
    out[:count] = array[:count]
    return out


@numba.njit(cache=True, error_model='numpy')
def _step_pixels(crop, bbox, region, state, t0, t1, refractory_period, lin_log_threshold,
                 start, out, count):
    """Advance the pixels of ``region`` from flat index ``start`` on (see :func:`_step_kernel`)
    and write their events to ``out`` from ``count`` on.

    Returns:
        ``(count, stop)``: the events written so far and the flat index of the first pixel
        whose events did not fit (left untouched), or -1 when every pixel was advanced.
    """
    log, memory, last_event, thresholds = state
    xs, ys, ts, ps = out
    bx0, by0, bx1, by1 = bbox
    rx0, ry0, rx1, ry1 = region
    thr_dn = lin_log_threshold * _DN_SCALE
    slope = np.log(thr_dn) / thr_dn
    width, dt = rx1 - rx0, t1 - t0
    row0 = start // width
    for y in range(ry0 + row0, ry1):
        for x in range(rx0 + (start - row0 * width if y == ry0 + row0 else 0), rx1):
            log1 = 0.0
            if by0 <= y < by1 and bx0 <= x < bx1:
                dn = np.float32(crop[y - by0, x - bx0] * _DN_SCALE)
                log1 = np.log(dn) if dn >= thr_dn else np.float32(dn * slope)
            level = np.float64(memory[y, x])
            if log1 - level >= thresholds[y, x, 0]:
                sign, thr = 1.0, np.float64(thresholds[y, x, 0])
            elif level - log1 >= thresholds[y, x, 1]:
                sign, thr = -1.0, np.float64(thresholds[y, x, 1])
            else:
                log[y, x] = log1
                continue
            n = np.floor(sign * (log1 - level) / thr)
            if count + n > len(xs):
                return count, (y - ry0) * width + x - rx0
            log0 = np.float64(log[y, x])
            log[y, x] = log1
            rise = sign * (log1 - log0)  # progress towards the crossings during the frame
            offset = sign * (level - log0)
            k, last = 0.0, last_event[y, x]
            while True:
                frac = max((last + refractory_period - t0) / dt, 0.0)
                nxt = k + 1
                if frac > 0:
                    nxt = max(nxt, np.ceil((frac * rise - offset) / thr))
                # Without progress nothing can be crossed after t0.
                if nxt > n or frac > 1 or not (rise > 0 or frac == 0):
                    break
                when = min(max((offset + nxt * thr) / rise, 0.0), 1.0) if rise > 0 else 0.0
                k, last = nxt, t0 + dt * when
                xs[count], ys[count], ts[count], ps[count] = x, y, last, sign > 0
                count += 1
            memory[y, x] = level + sign * thr * k
            last_event[y, x] = last
    return count, -1


@numba.njit(cache=True)
def _step_kernel(crop, bbox, region, state, t0, t1, refractory_period, lin_log_threshold,
                 capacity):
    """Advance every pixel of ``region`` to the new frame and date its threshold crossings.

    Crossing ``k = 1 .. n`` of a pixel is the level ``memory + sign·k·thr``; it happens where
    the linear log intensity from ``log0`` (at ``t0``) to ``log1`` (at ``t1``) reaches it, or
    at ``t0`` if it was already passed (a crossing held back by the refractory period).
    A pixel emits its crossings in order, each at least one refractory period after its
    previous event; those that cannot are skipped.

    Args:
        state: ``(log, memory, last_event, thresholds)`` of the pixels, updated in place.
        capacity: Events the output buffers start with (doubled until all fit).

    Returns:
        ``(x, y, t, p)`` of the events, grouped by pixel in row-major order.
    """
    out = (np.empty(capacity, np.uint16), np.empty(capacity, np.uint16),
           np.empty(capacity), np.empty(capacity, np.uint8))
    count, start = 0, 0
    while True:
        count, start = _step_pixels(crop, bbox, region, state, t0, t1, refractory_period,
                                    lin_log_threshold, start, out, count)
        if start < 0:
            return out[0][:count], out[1][:count], out[2][:count], out[3][:count]
        capacity *= 2
        out = (_grown(out[0], capacity, count), _grown(out[1], capacity, count),
               _grown(out[2], capacity, count), _grown(out[3], capacity, count))


@numba.njit(cache=True)
def _leak_kernel(next_time, period, width, t_end):
    """Leak events of every pixel up to ``t_end``; ``next_time`` (s) advances past them.

    Returns:
        ``(x, y, t)`` uint16, uint16, float64 seconds, grouped by pixel.
    """
    count = 0
    for i in range(len(next_time)):  # mostly a compare: a pixel leaks every few seconds
        if next_time[i] <= t_end:  # (+ 1: room for a rounding difference with the sums)
            count += int((t_end - next_time[i]) / period[i]) + 2
    xs, ys, ts = np.empty(count, np.uint16), np.empty(count, np.uint16), np.empty(count)
    count = 0
    for i in range(len(next_time)):
        while next_time[i] <= t_end:
            xs[count], ys[count], ts[count] = i % width, i // width, next_time[i]
            count += 1
            next_time[i] += period[i]
    return xs[:count], ys[:count], ts[:count]


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
        # ON and OFF threshold of a pixel side by side (one cache line); float32 draws: the
        # per-trajectory start-up cost at 1280x720 is mostly these 1.8 million numbers.
        thresholds = rng.standard_normal(shape + (2,), np.float32)
        thresholds *= np.float32(threshold_sigma)
        thresholds += np.float32(contrast_threshold)
        # Clipped so a far tail sample cannot make a pixel fire without limit.
        self._thresholds = np.maximum(thresholds, np.float32(0.2 * contrast_threshold))
        self.refractory_period = refractory_period
        self.lin_log_threshold = lin_log_threshold
        self.leak_rate = leak_rate
        self.shot_noise_rate = shot_noise_rate
        num_pixels = self.size[0] * self.size[1]
        leak = leak_rate * np.clip(1 + 0.1 * rng.standard_normal(num_pixels), 0, None)
        # The k-th leak event of a pixel (k = 0, 1, ...) comes at (k + 1 - phase) / rate.
        with np.errstate(divide='ignore'):
            self._leak_period = 1 / leak
        self._leak_next = (1 - rng.random(num_pixels)) * self._leak_period
        self._log = np.zeros(shape, np.float32)  # log intensity of the last frame
        self._memory = np.zeros(shape, np.float32)
        self._last_event = np.full(shape, -np.inf)
        self._bbox = (0, 0, 0, 0)  # where the last frame was not black
        self._time = None
        self._last_count = 0  # events of the last frame

    @property
    def thresholds(self) -> np.ndarray:
        """``(2, H, W)`` float32 ON and OFF contrast thresholds of the pixels (a view)."""
        return self._thresholds.transpose(2, 0, 1)

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
        region = (min(bbox[0], self._bbox[0]), min(bbox[1], self._bbox[1]),
                  max(bbox[2], self._bbox[2]), max(bbox[3], self._bbox[3]))
        state = (self._log, self._memory, self._last_event, self._thresholds)
        # Room for twice the last frame's events: the buffers rarely need to grow.
        x, y, t, p = _step_kernel(np.asarray(crop, np.float32), tuple(bbox), region, state,
                                  float(self._time), float(time), self.refractory_period,
                                  self.lin_log_threshold, max(4096, 2 * self._last_count))
        self._last_count = len(t)
        self._bbox, self._time = tuple(bbox), time
        return dict(x=x, y=y, t=t, p=p)

    def noise_events(self, t_start: float, t_end: float) -> dict[str, np.ndarray]:
        """Leak and shot-noise events over ``(t_start, t_end]`` on the whole sensor.

        Leak: each pixel fires ON events periodically at its own rate (10 % spread) with a
        random phase, both fixed when the simulator is made. Calls must follow each other in
        time (a leak event not later than ``t_start`` is not returned again): consecutive
        intervals then give the events of their union. Shot noise: a Poisson process per
        pixel, polarity at random.

        Returns:
            ``x, y`` uint16, ``t`` float64 seconds, ``p`` uint8, in no particular order.
        """
        width = self.size[0]
        x, y, leak_t = _leak_kernel(self._leak_next, self._leak_period, width, t_end)
        num_pixels = len(self._leak_next)
        num_shot = self.rng.poisson(self.shot_noise_rate * num_pixels * (t_end - t_start))
        shot_pixel = self.rng.integers(0, num_pixels, num_shot)
        shot_t = t_end - (t_end - t_start) * self.rng.random(num_shot)  # in (t_start, t_end]
        shot_p = self.rng.integers(0, 2, num_shot, dtype=np.uint8)

        return dict(x=np.concatenate([x, (shot_pixel % width).astype(np.uint16)]),
                    y=np.concatenate([y, (shot_pixel // width).astype(np.uint16)]),
                    t=np.concatenate([leak_t, shot_t]),
                    p=np.concatenate([np.ones(len(leak_t), np.uint8), shot_p]))
