"""The synthetic generator runs without torch (its memory stays bounded), and its scipy
rotations follow the project's conventions exactly."""
import subprocess
import sys

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from sparkpose.structures import (
    axis_angle_to_matrix,
    matrix_to_quaternion,
    quaternion_to_matrix,
)

GENERATOR = 'tools/dataset_converters/generate_synthetic.py'


def imported_heavy_modules(code: str) -> list[str]:
    """The heavy modules that running ``code`` in a fresh interpreter imports."""
    probe = (f'{code}\nimport sys\n'
             "print(' '.join(m for m in ('torch', 'mmengine', 'timm') if m in sys.modules))")
    result = subprocess.run([sys.executable, '-c', probe], capture_output=True, text=True,
                            check=True)
    return result.stdout.split()


@pytest.mark.parametrize('code', [
    'import sparkpose.simulation',
    'from sparkpose.datasets.spades_format import SPADES_CAMERA',
    'from sparkpose.structures import BODY_FILE, proba2_like',
    # The command-line generator's own imports and definitions (without running main).
    f'import runpy; runpy.run_path({GENERATOR!r})',
])
def test_generator_imports_neither_torch_nor_mmengine(code):
    assert imported_heavy_modules(code) == []


def test_lazy_package_still_exports_everything_and_names_unknown_attributes():
    import sparkpose.datasets as datasets
    import sparkpose.structures as structures
    for package in (datasets, structures):
        for name in package.__all__:
            assert getattr(package, name) is not None
        assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match="'sparkpose.datasets' has no attribute 'Spades'"):
        datasets.Spades  # noqa: B018


def test_scipy_rotations_match_the_project_conventions():
    rng = np.random.default_rng(3)
    quat = rng.standard_normal((64, 4))
    rotvec = rng.standard_normal((64, 3)) * 2.0
    matrices = Rotation.from_quat(quat).as_matrix()
    np.testing.assert_allclose(matrices, quaternion_to_matrix(torch.from_numpy(quat)).numpy(),
                               atol=1e-12)
    np.testing.assert_allclose(Rotation.from_rotvec(rotvec).as_matrix(),
                               axis_angle_to_matrix(torch.from_numpy(rotvec)).numpy(),
                               atol=1e-12)
    # Scalar-last and canonical (w >= 0), as the labels must be.
    np.testing.assert_allclose(Rotation.from_matrix(matrices).as_quat(canonical=True),
                               matrix_to_quaternion(torch.from_numpy(matrices)).numpy(),
                               atol=1e-12)
