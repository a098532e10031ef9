"""Package attributes imported on first use (PEP 562).

A package whose ``__init__`` imported all its modules would make every light module pay for
its heavy siblings: the synthetic generator reads the file contract
(``datasets.spades_format``) and the body model (``structures.body_model``), and importing
torch alongside them would take ≈0.7 GB of memory before the first event is simulated.
``from sparkpose.datasets import SPADESDataset`` works as before; the module is imported
when the name is first used.
"""
import importlib
import sys
from collections.abc import Callable


def lazy_exports(package: str, module_names: dict[str, tuple[str, ...]]
                 ) -> tuple[list[str], Callable[[str], object], Callable[[], list[str]]]:
    """The ``__all__``, ``__getattr__`` and ``__dir__`` of a package that imports its modules
    on demand.

    Args:
        package: The package's ``__name__``.
        module_names: ``{module: names it exports}``, modules relative to the package; a
            name equal to its module's is that module itself.

    Returns:
        ``(__all__, __getattr__, __dir__)`` to assign in the package's ``__init__``.
    """
    exports = {name: module for module, names in module_names.items() for name in names}

    def __getattr__(name: str) -> object:
        if name not in exports:
            raise AttributeError(f'module {package!r} has no attribute {name!r}')
        module = importlib.import_module(f'{package}.{exports[name]}')
        value = module if name == exports[name] else getattr(module, name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(exports)

    return sorted(exports), __getattr__, __dir__
