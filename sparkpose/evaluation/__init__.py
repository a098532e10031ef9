from .functional import *  # noqa: F403
from .metrics import *  # noqa: F403
