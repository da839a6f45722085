"""The feature registry: which functions produce which columns, in which units and ranges."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._validation import did_you_mean
from ..exceptions import FeatureError
from . import _faces, _pixels, _text
from ._io import DecodedImage

GROUPS = ("faces", "color", "quality", "composition", "text", "embedding")
DEFAULT_GROUPS = ("faces", "color", "quality", "composition", "text")


@dataclass(frozen=True)
class FeatureSpec:
    """A registered feature function and the columns it returns.

    ``function(image: DecodedImage, **context) -> dict[str, float]``; ``columns`` maps each
    column to ``(units, (low, high))``. Functions must be importable top-level functions so
    that process pools and Dask workers can run them.
    """

    name: str
    group: str
    function: Callable[..., Mapping[str, float]]
    columns: Mapping[str, tuple[str, tuple[float, float]]]
    needs_detector: bool = False
    doc: str = field(default="", compare=False)


_REGISTRY: dict[str, FeatureSpec] = {}


def register_feature(name: str, function: Callable[..., Mapping[str, float]], *,
                     columns: Mapping[str, tuple[str, tuple[float, float]]], group: str = "custom",
                     needs_detector: bool = False, replace: bool = False) -> FeatureSpec:
    """Register a feature function (a decoded image -> dict of named floats).

    Examples
    --------
    >>> def redness(img, **_):
    ...     return {"redness": float(img.rgb[..., 0].mean() / 255)}
    >>> spec = register_feature("redness", redness, columns={"redness": ("share", (0.0, 1.0))}, replace=True)
    >>> spec.group
    'custom'
    """
    if name in _REGISTRY and not replace:
        raise FeatureError(f"a feature named {name!r} is already registered; pass replace=True to override it.")
    if not callable(function):
        raise FeatureError(f"feature {name!r}: function must be callable.")
    spec = FeatureSpec(name, group, function, dict(columns), needs_detector, function.__doc__ or "")
    _REGISTRY[name] = spec
    return spec


def _faces_fn(img: DecodedImage, detector: Any = None, **_: Any) -> Mapping[str, float]:
    return _faces.face_features(img, detector)


def _text_fn(img: DecodedImage, **_: Any) -> Mapping[str, float]:
    return _text.text_features(img)


def _color_fn(img: DecodedImage, detector: Any = None, **_: Any) -> Mapping[str, float]:
    return _pixels.color_features(img, detector)  # measured outside faces and text


def _quality_fn(img: DecodedImage, detector: Any = None, **_: Any) -> Mapping[str, float]:
    return _pixels.quality_features(img, detector)


def _composition_fn(img: DecodedImage, **_: Any) -> Mapping[str, float]:
    return _pixels.composition_features(img)


def _embedding_fn(img: DecodedImage, **_: Any) -> Mapping[str, float]:
    return _pixels.embedding_features(img)


_UNIT = ("share", (0.0, 1.0))
register_feature("faces", _faces_fn, group="faces", needs_detector=True, columns={
    "has_face": ("0/1", (0.0, 1.0)), "n_faces": ("count", (0.0, float("inf"))), "face_area": _UNIT,
    "closeup": ("0/1", (0.0, 1.0)), "face_thirds": _UNIT, "smile": _UNIT})
register_feature("color", _color_fn, group="color", needs_detector=True, columns={
    "brightness": _UNIT, "contrast": _UNIT, "colorfulness": _UNIT, "saturation": _UNIT,
    "warmth": ("balance", (-1.0, 1.0))})
register_feature("quality", _quality_fn, group="quality", needs_detector=True,
                 columns={"sharpness": _UNIT, "exposure_clip": _UNIT})
register_feature("composition", _composition_fn, group="composition", columns={
    "thirds": _UNIT, "negative_space": _UNIT, "depth_of_field": _UNIT, "symmetry": _UNIT})
register_feature("text", _text_fn, group="text", columns={"text_area": _UNIT, "has_text": ("0/1", (0.0, 1.0))})
register_feature("embedding", _embedding_fn, group="embedding",
                 columns={f"emb_{k}": ("histogram share", (0.0, 1.0)) for k in range(96)})


def resolve_features(features: str | FeatureSpec | list[str | FeatureSpec] | tuple[str | FeatureSpec, ...]
                     ) -> tuple[FeatureSpec, ...]:
    """Turn "default", "all", group names or registered names into specs (did-you-mean on
    typos). A :class:`FeatureSpec` passes as it is: a caller's own feature, unregistered."""
    if isinstance(features, (str, FeatureSpec)):
        features = [features]
    chosen: dict[str, FeatureSpec] = {}
    for item in features:
        if isinstance(item, FeatureSpec):
            chosen[item.name] = item
            continue
        if item == "default":
            names = [n for n, s in _REGISTRY.items() if s.group in DEFAULT_GROUPS]
        elif item == "all":
            names = list(_REGISTRY)
        elif item in _REGISTRY:
            names = [item]
        elif item in {s.group for s in _REGISTRY.values()}:
            names = [n for n, s in _REGISTRY.items() if s.group == item]
        else:
            known = sorted(set(_REGISTRY) | {s.group for s in _REGISTRY.values()} | {"default", "all"})
            raise FeatureError(f"unknown feature or group {item!r}.{did_you_mean(item, known)} Known: {known}.")
        for n in names:
            chosen[n] = _REGISTRY[n]
    return tuple(chosen.values())


def catalog() -> list[tuple[str, str, str, tuple[float, float]]]:
    """(column, group, units, range) for every registered column."""
    return [(col, spec.group, units, rng) for spec in _REGISTRY.values() for col, (units, rng) in spec.columns.items()]
