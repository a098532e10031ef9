"""Registries of sparkpose: children of mmengine's, so the Runner finds our parts.

Every pluggable component registers itself where it is defined; ``locations`` lets a
config name a type without importing its module first (``default_scope='sparkpose'``).
A misspelt type or argument in a config fails naming the closest valid ones
(:mod:`sparkpose.registry_hints`).
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS

from .registry_hints import SparkposeRegistry

RUNNERS = SparkposeRegistry('runner', parent=MMENGINE_RUNNERS, locations=['sparkpose.engine'])
LOOPS = SparkposeRegistry('loop', parent=MMENGINE_LOOPS, locations=['sparkpose.engine'])
HOOKS = SparkposeRegistry('hook', parent=MMENGINE_HOOKS, locations=['sparkpose.engine.hooks'])
LOG_PROCESSORS = SparkposeRegistry(
    'log processor', parent=MMENGINE_LOG_PROCESSORS, locations=['sparkpose.engine'])

DATASETS = SparkposeRegistry(
    'dataset', parent=MMENGINE_DATASETS, locations=['sparkpose.datasets.spades_dataset'])
DATA_SAMPLERS = SparkposeRegistry(
    'data sampler', parent=MMENGINE_DATA_SAMPLERS, locations=['sparkpose.datasets.samplers'])
TRANSFORMS = SparkposeRegistry(
    'transform', parent=MMENGINE_TRANSFORMS, locations=['sparkpose.datasets.transforms'])
# Collate functions; the Runner looks them up in mmengine's root registry, so a config
# names ours with the scope: collate_fn=dict(type='sparkpose.pose_collate').
FUNCTIONS = SparkposeRegistry(
    'function', parent=MMENGINE_FUNCTIONS, locations=['sparkpose.datasets.collate'])
# Target encoders/decoders the heads build (mmpose's codecs); the pipeline does not use them.
CODECS = SparkposeRegistry('codec', locations=['sparkpose.codecs'])

MODELS = SparkposeRegistry('model', parent=MMENGINE_MODELS, locations=['sparkpose.models'])
MODEL_WRAPPERS = SparkposeRegistry(
    'model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, locations=['sparkpose.models'])

OPTIMIZERS = SparkposeRegistry(
    'optimizer', parent=MMENGINE_OPTIMIZERS, locations=['sparkpose.engine.optim_wrappers'])
OPTIM_WRAPPERS = SparkposeRegistry(
    'optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS,
    locations=['sparkpose.engine.optim_wrappers'])
OPTIM_WRAPPER_CONSTRUCTORS = SparkposeRegistry(
    'optimizer wrapper constructor', parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['sparkpose.engine.optim_wrappers'])
PARAM_SCHEDULERS = SparkposeRegistry(
    'parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS,
    locations=['sparkpose.engine.schedulers'])

METRICS = SparkposeRegistry('metric', parent=MMENGINE_METRICS, locations=['sparkpose.evaluation'])
EVALUATOR = SparkposeRegistry(
    'evaluator', parent=MMENGINE_EVALUATOR, locations=['sparkpose.evaluation'])

VISUALIZERS = SparkposeRegistry(
    'visualizer', parent=MMENGINE_VISUALIZERS, locations=['sparkpose.visualization'])
VISBACKENDS = SparkposeRegistry(
    'vis_backend', parent=MMENGINE_VISBACKENDS, locations=['sparkpose.visualization'])
