from .backbones import *  # noqa: F403
from .data_preprocessors import *  # noqa: F403
from .estimators import *  # noqa: F403
from .heads import *  # noqa: F403
from .losses import *  # noqa: F403
from .necks import *  # noqa: F403
