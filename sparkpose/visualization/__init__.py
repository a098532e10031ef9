from .drawing import (
    AXIS_COLORS,
    OFF_COLOR,
    ON_COLOR,
    OUTLINE_COLOR,
    draw_pose,
    events_to_rgb,
    project_points,
)
from .pose_overlay import (
    GT_COLOR,
    PRED_COLOR,
    render_pose_sample,
    sample_id,
    upscale_factor,
    voxel_grid_to_rgb,
)

__all__ = ['AXIS_COLORS', 'OFF_COLOR', 'ON_COLOR', 'OUTLINE_COLOR', 'draw_pose',
           'events_to_rgb', 'project_points', 'GT_COLOR', 'PRED_COLOR', 'render_pose_sample',
           'sample_id', 'upscale_factor', 'voxel_grid_to_rgb']
