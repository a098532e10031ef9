"""Compact forms of a batch's network inputs, turned into the dense grid on the model's device."""
from collections.abc import Sequence

from .sparse_inputs import SparseInputs
from .window_events import WindowEvents

# Each has ``stack(items, empty=...)`` and ``to_dense(device, non_blocking)``: the non-zero
# cells of a grid (SparseInputs) or a window's raw events (WindowEvents).
PACKED_INPUTS = (SparseInputs, WindowEvents)


def packed_form(inputs: Sequence, owner: str) -> type | None:
    """The packed class that every input of a batch shares; ``None`` if none is packed.

    A batch that mixes forms comes from samples whose representation or
    ``PackPoseInputs`` settings differ; that is an error naming ``owner``.
    """
    forms = {type(x) for x in inputs}
    if not any(issubclass(form, PACKED_INPUTS) for form in forms):
        return None
    if len(forms) != 1:
        raise ValueError(f'{owner}: a batch mixes input forms '
                         f'{sorted(form.__name__ for form in forms)}; use one representation '
                         f'and PackPoseInputs setting for the whole dataset')
    return forms.pop()
