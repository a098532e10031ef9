"""Registry errors that name the fix: the closest valid type or keyword argument.

:class:`SparkposeRegistry` is mmengine's ``Registry`` plus these hints; ``registry.py``
declares sparkpose's registries with it.
"""
import difflib
import functools
import inspect
from collections.abc import Callable, Iterable

from mmengine.registry import Registry


class UnknownTypeError(KeyError):
    """A config names a ``type`` that neither the registry nor its parents hold."""

    def __str__(self) -> str:
        # KeyError would print the repr of the message (quotes, escaped newlines).
        return str(self.args[0])


class UnknownArgumentError(TypeError):
    """A config passes a keyword argument that the class it builds does not take."""


def closest_names(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` of ``candidates`` most similar to ``name`` (difflib, case-insensitive)."""
    by_lower: dict[str, str] = {}
    for candidate in candidates:
        by_lower.setdefault(candidate.lower(), candidate)
    return [by_lower[match] for match in difflib.get_close_matches(name.lower(), by_lower, n=n)]


def keyword_arguments(cls: type) -> list[str]:
    """Names that ``cls(name=...)`` accepts.

    Those of ``cls.__init__`` and, while an ``__init__`` takes ``**kwargs``, those of the
    next ``__init__`` along the MRO (where ``super().__init__(**kwargs)`` passes them).
    """
    names: list[str] = []
    for klass in cls.__mro__[:-1]:  # object.__init__ takes no arguments
        if '__init__' not in vars(klass):
            continue
        try:
            parameters = list(inspect.signature(vars(klass)['__init__']).parameters.values())
        except (TypeError, ValueError):  # a builtin without a signature
            break
        names += [p.name for p in parameters[1:] if p.name not in names
                  and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            break
    return names


def check_keyword_arguments(cls: type) -> None:
    """Make ``cls(**cfg)`` name the closest valid arguments when a keyword is misspelt.

    Installs a wrapper of ``cls.__init__`` in ``cls``'s own namespace (base classes are
    untouched). Successful calls are unchanged; a ``TypeError`` that quotes a keyword
    ``cls`` does not accept (Python's "unexpected keyword argument 'x'", raised here or by
    the base class the keyword was passed on to) becomes an :class:`UnknownArgumentError`.
    It is installed when the class is registered because mmengine's Runner builds through
    mmengine's root registries, which call the class directly.
    """
    init = cls.__init__
    if getattr(init, '_checked_class', None) is cls:
        return
    if hasattr(init, '_checked_class'):  # inherited from a checked base: wrap its original
        init = init.__wrapped__

    @functools.wraps(init)
    def checked_init(self, *args, **kwargs) -> None:
        try:
            init(self, *args, **kwargs)
        except TypeError as error:
            built = type(self) if type(self).__init__ is checked_init else cls
            valid = keyword_arguments(built)
            unknown = [key for key in kwargs if key not in valid and f"'{key}'" in str(error)]
            if not unknown:
                raise
            close = closest_names(unknown[0], valid)
            hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ''
            raise UnknownArgumentError(
                f'{built.__name__} got an unknown argument {unknown[0]!r}; {hint}'
                f"{built.__name__} takes: {', '.join(valid) or 'no keyword arguments'}"
            ) from (None if isinstance(error, UnknownArgumentError) else error)

    checked_init._checked_class = cls
    cls.__init__ = checked_init


def _checked(module: Callable) -> Callable:
    """``module``, with :func:`check_keyword_arguments` installed if it is a class."""
    if inspect.isclass(module):
        check_keyword_arguments(module)
    return module


class SparkposeRegistry(Registry):
    """mmengine's ``Registry`` whose errors name the closest valid type or argument.

    - ``get`` of an unknown type raises :class:`UnknownTypeError` naming the type, the
      registry (``'sparkpose::model'``) and the closest names in it and its parents
      (mmengine's), where mmengine's returns None. The Runner's builds come here too:
      mmengine's root registries switch to the child of the default scope and call its
      ``get``. ``key in registry`` still answers False (a root registry asked for
      ``'sparkpose.<unknown>'`` raises, as its lookups then would anyway).
    - Classes registered here check their keyword arguments
      (:func:`check_keyword_arguments`).
    """

    def get(self, key: str) -> Callable:
        """The object registered as ``key`` here or in a parent registry.

        Raises:
            UnknownTypeError: If there is none.
        """
        obj = super().get(key)
        if obj is None:
            raise UnknownTypeError(self._unknown_type_message(key))
        return obj

    def __contains__(self, key: str) -> bool:
        try:
            return super().get(key) is not None
        except UnknownTypeError:  # a scoped key that reached another sparkpose registry
            return False

    def register_module(self, name: str | list[str] | None = None, force: bool = False,
                        module: Callable | None = None) -> Callable:
        """mmengine's ``register_module`` (decorator or call); a class registered here
        checks its keyword arguments (:func:`check_keyword_arguments`)."""
        if module is not None:
            return super().register_module(name, force, _checked(module))
        register = super().register_module(name, force)
        return lambda module: register(_checked(module))

    def _unknown_type_message(self, key: str) -> str:
        scoped = self.split_scope_key(key)[0] is not None
        searched, candidates, registry = [], [], self
        while registry is not None:
            searched.append(f'{registry.scope}::{registry.name}')
            candidates += [f'{registry.scope}.{name}' if scoped else name
                           for name in registry.module_dict]
            registry = registry.parent
        close = closest_names(key, candidates)
        hint = f"did you mean {' or '.join(map(repr, close))}?" if close else 'no similar name.'
        parents = f" (nor in {', '.join(searched[1:])})" if len(searched) > 1 else ''
        return (f'{key!r} is not in the {searched[0]} registry{parents}; {hint} A type of '
                "your own must be imported first: custom_imports=dict(imports=['my.module']).")
