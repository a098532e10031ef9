"""Text report of :class:`PoseMetric`'s figures: raw and sequence-filtered side by side,
and how many windows had each pose status."""
from collections.abc import Mapping

ROWS = (('rotation error (deg), mean', 'rot_err_deg_mean'),
        ('rotation error (deg), median', 'rot_err_deg_median'),
        ('rotation error mod symmetry (deg), mean', 'rot_err_sym_deg_mean'),
        ('rotation error < 30 deg (fraction)', 'rot_acc_30'),
        ('position error (m), mean', 'pos_err_m_mean'),
        ('SPEED score, mean', 'speed_mean'),
        ('SPEED score, median', 'speed_median'))


def raw_and_filtered_table(metrics: Mapping[str, float], prefix: str = 'pose') -> str:
    """A table with a column for the raw windows and one per sequence filter found in
    ``metrics`` (keys ``{prefix}/{filter}/{name}``), then the status counts; ``''`` when
    ``metrics`` has no pose figures."""
    if f'{prefix}/rot_err_deg_mean' not in metrics:
        return ''
    columns = [''] + list(dict.fromkeys(key.split('/')[1] + '/' for key in metrics
                                        if key.count('/') == 2
                                        and key.endswith('/rot_err_deg_mean')))
    header = f'{"":<42}' + ''.join(f'{(c[:-1] or "raw"):>10}' for c in columns)
    lines = [header]
    for label, name in ROWS:
        values = [metrics.get(f'{prefix}/{column}{name}') for column in columns]
        if values[0] is None:
            continue
        lines.append(f'{label:<42}' + ''.join(
            f'{"-" if v is None else format(v, ".3f"):>10}' for v in values))
    statuses = {key.split('/')[-1]: int(value) for key, value in metrics.items()
                if key.startswith(f'{prefix}/status/')}
    if statuses:
        lines.append('windows per status: ' + ', '.join(
            f'{name} {count}' for name, count in statuses.items()))
        lines.append(f'fallback share (not PnP on confident keypoints): '
                     f'{metrics[f"{prefix}/fallback_share"]:.3f}')
    return '\n'.join(lines)
