from .drawing import (
    AXIS_COLORS,
    OFF_COLOR,
    ON_COLOR,
    OUTLINE_COLOR,
    draw_pose,
    events_to_rgb,
    project_points,
)

__all__ = ['AXIS_COLORS', 'OFF_COLOR', 'ON_COLOR', 'OUTLINE_COLOR', 'draw_pose',
           'events_to_rgb', 'project_points']
