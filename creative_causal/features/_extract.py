"""Batch extraction: serial, process pool or Dask; one error row per bad image, never a lost batch."""

from __future__ import annotations

import functools
import glob as globlib
import itertools
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._config import native_threads_capped
from .._validation import did_you_mean
from ..exceptions import DataQualityWarning, FeatureError, ImageReadError, InvalidParameterError, UnknownNameError
from ._faces import FaceDetector, detect_faces_together
from ._io import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, DecodedImage, decode_file
from ._registry import FeatureSpec, resolve_features

ERROR_COLUMNS = ["artwork_id", "path", "error", "message"]


class FeatureTable(pd.DataFrame):
    """A feature DataFrame indexed by artwork id, with ``.errors`` (one row per image that
    failed: artwork_id, path, error type, message), ``.skipped`` (files of the folder that are
    not images: path, reason) and :meth:`summary`."""

    _metadata = ["errors", "skipped"]

    @property
    def _constructor(self) -> type[FeatureTable]:
        return FeatureTable

    def to_file(self, path: str | os.PathLike[str]) -> Path:
        """Write the features with an ``artwork_id`` column (Parquet for .parquet/.pq, else CSV),
        and the failed images beside them as ``<stem>_errors.csv``. Returns the features path.

        Raises
        ------
        OutputPathError
            When the path is a directory or cannot be written (checked before writing).
        """
        from .._validation import check_output_file, make_dirs

        out = check_output_file(path, "features file")
        make_dirs(out.parent, "features file")
        frame = pd.DataFrame(self).reset_index()
        frame = frame.rename(columns={frame.columns[0]: "artwork_id"})
        if out.suffix.lower() in (".parquet", ".pq"):
            frame.to_parquet(out, index=False)
        else:
            frame.to_csv(out, index=False)
        getattr(self, "errors", pd.DataFrame(columns=ERROR_COLUMNS)).to_csv(self.errors_path(out), index=False)
        return out

    @staticmethod
    def errors_path(path: str | os.PathLike[str]) -> Path:
        """Where :meth:`to_file` writes the failed images of a features file."""
        out = Path(path)
        return out.with_name(out.stem + "_errors.csv")

    def summary(self) -> str:
        errors = getattr(self, "errors", pd.DataFrame(columns=ERROR_COLUMNS))
        skipped = getattr(self, "skipped", pd.DataFrame(columns=SKIPPED_COLUMNS))
        lines = [f"FeatureTable: {len(self)} images extracted, {len(errors)} failed, {self.shape[1]} features"
                 + (f"; {len(skipped)} files that are not images skipped" if len(skipped) else "")]
        for kind, n in errors["error"].value_counts().items() if len(errors) else []:
            lines.append(f"  {kind}: {n}")
        if "has_face" in self and len(self):
            lines.append(f"  with a face: {self['has_face'].mean():.0%}; with text: "
                         f"{self['has_text'].mean() if 'has_text' in self else float('nan'):.0%}")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Config:
    specs: tuple[FeatureSpec, ...]
    working_size: int
    max_pixels: int
    detector: tuple[Any, float, str | None]
    #: one OpenCV thread per task: set where processes (pool or cluster workers) are the parallelism
    single_threaded: bool = False

    @property
    def needs_detector(self) -> bool:
        return any(s.needs_detector for s in self.specs)


@functools.lru_cache(maxsize=4)
def _detector(backend: Any, threshold: float, model_path: str | None) -> FaceDetector:
    return FaceDetector(backend, threshold, model_path)


#: Images per task: decoded together, and their faces found in one pass of the network.
CHUNK = 4

Result = tuple[str, "dict[str, float] | None", "tuple[str, str, str] | None"]
Decoded = tuple[str, str, "DecodedImage | None", "tuple[str, str, str] | None"]


def _extract_chunk(chunk: Sequence[tuple[str, Any]], config: _Config) -> list[Result]:
    """Decode each image once and run every feature on the shared arrays. Never raises.

    The chunk's faces are detected in one network pass (the boxes are identical to one
    image at a time, so an image's features do not depend on the others in its chunk).
    """
    if config.single_threaded:
        _one_opencv_thread()
    decoded = [_decode_one(item, config) for item in chunk]
    if config.needs_detector:
        try:
            detect_faces_together([img for _, _, img, _ in decoded if img is not None], _detector(*config.detector))
        except Exception:  # noqa: BLE001 - each image then detects alone, and the one that fails gets the error row
            pass
    return [_features_of(item, config) for item in decoded]


def _decode_one(item: tuple[str, Any], config: _Config) -> Decoded:
    """(id, where, decoded image or None, error or None). Never raises."""
    ident, source = item
    where = str(source) if not isinstance(source, np.ndarray) else f"array {ident!r}"
    try:
        img = (DecodedImage.from_array(source, config.working_size, where) if isinstance(source, np.ndarray)
               else decode_file(source, config.working_size, config.max_pixels))
        return ident, where, img, None
    except Exception as exc:  # noqa: BLE001 - becomes the image's error row
        return ident, where, None, _error_row(where, exc)


def _features_of(decoded: Decoded, config: _Config) -> Result:
    """Every feature of one decoded image, or its error row. Never raises."""
    ident, where, img, error = decoded
    if img is None:
        return ident, None, error
    try:
        detector = _detector(*config.detector) if config.needs_detector else None
        row: dict[str, float] = {}
        for spec in config.specs:
            values = spec.function(img, detector=detector)
            for col in spec.columns:
                value = float(values[col])
                if not np.isfinite(value):
                    raise FeatureError(f"feature {col!r} is not finite ({value}) for this image")
                row[col] = value
        return ident, row, None
    except Exception as exc:  # noqa: BLE001 - one bad image must never stop the batch; the type is reported
        return ident, None, _error_row(where, exc)


def _error_row(where: str, exc: Exception) -> tuple[str, str, str]:
    expected = isinstance(exc, (ImageReadError, FeatureError, OSError, ValueError, KeyError, MemoryError))
    return where, type(exc).__name__, str(exc) if expected else f"unexpected error: {exc}"


def _chunks(items: Sequence[tuple[str, Any]]) -> list[Sequence[tuple[str, Any]]]:
    return [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]


def _one_opencv_thread() -> None:
    """Processes are the parallelism: OpenCV threads on top would oversubscribe the cores."""
    import cv2

    if cv2.getNumThreads() != 1:  # setting it rebuilds OpenCV's thread pool: only once per process
        cv2.setNumThreads(1)


def collect_images(images: Any) -> list[tuple[str, Any]]:
    """(id, path or array) pairs from a directory, a glob, a list of paths or a mapping.

    Ids are file stems; when stems repeat, relative paths without the extension; when the
    same name exists in two formats (``dup.jpg`` and ``dup.png``), the file names themselves,
    with a :class:`DataQualityWarning` naming them. Files in a folder (or glob) that are not
    images are left out here and listed by :func:`skipped_files`.
    """
    return _collect(images)[0]


def skipped_files(images: Any) -> pd.DataFrame:
    """Files of a folder or glob that :func:`collect_images` leaves out (not image files):
    ``path`` and ``reason``. Empty for lists of paths and mappings (every item is tried)."""
    return pd.DataFrame(_collect(images)[1], columns=SKIPPED_COLUMNS)


SKIPPED_COLUMNS = ["path", "reason"]


def _collect(images: Any) -> tuple[list[tuple[str, Any]], list[tuple[str, str]]]:
    if isinstance(images, Mapping):
        return [(str(k), v if isinstance(v, np.ndarray) else Path(v)) for k, v in images.items()], []
    if isinstance(images, (str, os.PathLike)):
        path = Path(images)
        if path.is_dir():
            return _split_images(sorted(p for p in path.rglob("*") if p.is_file()), root=path)
        if path.is_file():
            return _with_ids([path]), []
        if any(ch in str(images) for ch in "*?["):
            return _split_images(sorted(Path(p) for p in globlib.glob(str(images), recursive=True) if Path(p).is_file()))
        raise FeatureError(f"{images}: no such file, directory or glob match.")
    if isinstance(images, Iterable) and not isinstance(images, (bytes, np.ndarray)):
        paths = list(images)
        bad = [p for p in paths if not isinstance(p, (str, os.PathLike))]
        if bad:
            raise InvalidParameterError(f"images: a list must hold file paths; found {type(bad[0]).__name__} {bad[0]!r}. For "
                               "arrays, pass a mapping of id to array.")
        return _with_ids([Path(p) for p in paths]), []
    raise InvalidParameterError(f"images must be a directory, a glob, a list of paths or a mapping of id to array; "
                       f"got {type(images).__name__}.")


def _split_images(files: Sequence[Path], root: Path | None = None) -> tuple[list[tuple[str, Any]], list[tuple[str, str]]]:
    images = [f for f in files if f.suffix.lower() in IMAGE_EXTENSIONS]
    skipped = [(str(f), f"not an image file ({f.suffix or 'no extension'}); image files end in "
                f"{', '.join(sorted(IMAGE_EXTENSIONS))}") for f in files if f.suffix.lower() not in IMAGE_EXTENSIONS]
    return _with_ids(images, root=root), skipped


def _with_ids(files: Sequence[Path], root: Path | None = None) -> list[tuple[str, Any]]:
    stems = [f.stem for f in files]
    if len(set(stems)) == len(stems):
        return list(zip(stems, files))
    # the same stem in several folders: ids become relative paths without the extension
    base = (root or Path(os.path.commonpath([str(f.parent.resolve()) for f in files]))) if files else Path(".")
    ids = [_relative(f, base).with_suffix("").as_posix() for f in files]
    counts = pd.Series(ids).value_counts()
    clash = set(counts.index[counts.to_numpy() > 1])
    if clash:
        # the same name in two formats (dup.jpg, dup.png): keep the extension, and say so
        ids = [_relative(f, base).as_posix() if i in clash else i for i, f in zip(ids, files)]
        warnings.warn(f"{len(clash)} images share a name in different formats ({', '.join(sorted(clash)[:5])}); their "
                      "ids keep the file extension (e.g. 'dup.jpg', 'dup.png') so that neither is lost. Rename them so "
                      "each artwork id matches your A/B results.", DataQualityWarning, stacklevel=4)
    return list(zip(ids, files))


def _relative(path: Path, base: Path) -> Path:
    try:
        return path.resolve().relative_to(base.resolve())
    except ValueError:
        return path


@native_threads_capped
def extract_features(
    images: Any,
    *,
    features: str | Sequence[str | FeatureSpec] = "default",
    n_jobs: int = 1,
    executor: Any = None,
    progress: bool = True,
    working_size: int = 512,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    face_detector: Any = "ssd",
    face_threshold: float = 0.5,
    face_model_path: str | None = None,
) -> FeatureTable:
    """Extract interpretable features from every image.

    Parameters
    ----------
    images : directory, glob, list of paths, or mapping of id to array or path
        A directory is searched recursively for .jpg, .jpeg, .png, .webp, .bmp, .tif(f).
        Ids are file stems (relative paths when stems repeat) or the mapping's keys.
    features : str or list of str, default="default"
        "default" (faces, color, quality, composition, text), "all", group names
        (``"faces"``, ``"color"``, ``"quality"``, ``"composition"``, ``"text"``,
        ``"embedding"``) or names given to :func:`register_feature`; a :class:`FeatureSpec`
        in the list is used as it is, without registering it.
    n_jobs : int, default=1
        Processes, in joblib's reusable pool (warm for the next call). Images go in chunks of
        4: each is decoded once, in one process, and the chunk's faces are found in one pass
        of the network. The same chunks in every mode, so the tables are identical.
    executor : dask.distributed.Client, optional
        Run the same per-chunk function on a Dask cluster instead.
    progress : bool, default=True
        Show a progress bar (tqdm) for 50 images or more.
    working_size : int, default=512
        Longer side of the decoded image; features do not depend on file size.
    max_pixels : int, default=100 000 000
        Larger images are refused before decoding (decompression bombs).
    face_detector : {"ssd", "haar", "yunet"} or callable, default="ssd"
    face_threshold : float, default=0.5
    face_model_path : str, optional
        YuNet's ONNX file.

    Returns
    -------
    FeatureTable
        Indexed by artwork id, in input order; ``.errors`` lists images that failed.

    Examples
    --------
    >>> import numpy as np
    >>> table = extract_features({"grey": np.full((64, 96, 3), 128, np.uint8)}, features="color", progress=False)
    >>> round(float(table.loc["grey", "brightness"]), 3), float(table.loc["grey", "colorfulness"])
    (0.502, 0.0)
    """
    specs = resolve_features(features)
    from .._validation import check_int, check_n_jobs

    n_jobs = check_n_jobs(n_jobs)
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    working_size = check_int(working_size, "working_size", minimum=64)
    max_pixels = check_int(max_pixels, "max_pixels", minimum=256)
    if any(s.needs_detector for s in specs):
        FaceDetector(face_detector, face_threshold, face_model_path)  # configuration errors surface here, once
    config = _Config(specs, working_size, max_pixels, (face_detector, face_threshold, face_model_path),
                     single_threaded=executor is not None or n_jobs > 1)
    items, skipped = _collect(images)
    if not items:
        extra = f" ({len(skipped)} other files skipped, e.g. {skipped[0][0]}: {skipped[0][1]})" if skipped else ""
        raise FeatureError(f"{images}: no images found{extra}. Image files end in {', '.join(sorted(IMAGE_EXTENSIONS))}.")
    work = functools.partial(_extract_chunk, config=config)
    # the same chunks in every mode: serial, pool and cluster give identical tables
    chunks = _chunks(items)
    if executor is not None:
        futures = executor.map(work, chunks, batch_size=16, pure=False)
        results = _progress(itertools.chain.from_iterable(executor.gather(futures, asynchronous=False)), len(items),
                            progress)
    elif n_jobs > 1 and len(chunks) > 1:
        results = _in_processes(work, chunks, n_jobs, len(items), progress)
    else:
        results = list(_progress(itertools.chain.from_iterable(map(work, chunks)), len(items), progress))
    columns = [c for s in specs for c in s.columns]
    rows, ids, errors = [], [], []
    for ident, row, error in results:
        if row is None:
            errors.append((ident, *error))
        else:
            ids.append(ident)
            rows.append([row[c] for c in columns])
    table = FeatureTable(np.array(rows, dtype=float).reshape(len(rows), len(columns)),
                         index=pd.Index(ids, name="artwork_id"), columns=columns)
    for col in ("has_face", "n_faces", "closeup", "has_text"):
        if col in table:
            table[col] = table[col].astype(np.int64)
    table.errors = pd.DataFrame(errors, columns=ERROR_COLUMNS)
    table.skipped = pd.DataFrame(skipped, columns=SKIPPED_COLUMNS)
    return table


def _in_processes(work: Any, chunks: list[Any], n_jobs: int, total: int, progress: bool) -> list[Any]:
    """Map ``work`` over ``chunks`` in joblib's reusable loky process pool; the results of
    every chunk, flattened, in order.

    The workers outlive the call (loky shuts them down after 5 idle minutes), so a second
    batch does not pay for starting processes and loading the detector again; the pool is
    the one joblib (and so scikit-learn) uses. Loky starts clean processes (no fork of a
    process that runs OpenMP/OpenCV threads) and pickles with cloudpickle, so feature
    functions defined in a notebook work too.
    """
    from joblib import Parallel, delayed

    batch = max(1, min(4, len(chunks) // (8 * n_jobs)))
    try:
        run = Parallel(n_jobs=n_jobs, backend="loky", batch_size=batch, return_as="generator")
        results = itertools.chain.from_iterable(run(delayed(work)(chunk) for chunk in chunks))
        return list(_progress(results, total, progress))
    except BrokenProcessPool as exc:  # loky's TerminatedWorkerError is a subclass
        raise FeatureError(
            f"a worker process died while extracting features ({exc}). An image may have exhausted memory, or a "
            "custom feature function crashed the interpreter: retry with n_jobs=1 to find the image."
        ) from exc


def _progress(iterable: Iterable[Any], total: int, enabled: bool) -> Iterable[Any]:
    if not enabled or total < 50:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc="extracting features", unit="image")


class FeatureExtractor:
    """scikit-learn style twin of :func:`extract_features` (same parameters, same output).

    ``fit`` learns nothing (features are fixed functions of each image); it validates the
    parameters and records ``feature_names_out_``.
    """

    def __init__(self, features: str | Sequence[str] = "default", n_jobs: int = 1, working_size: int = 512,
                 max_pixels: int = DEFAULT_MAX_PIXELS, face_detector: Any = "ssd", face_threshold: float = 0.5,
                 face_model_path: str | None = None, progress: bool = True) -> None:
        self.features = features
        self.n_jobs = n_jobs
        self.working_size = working_size
        self.max_pixels = max_pixels
        self.face_detector = face_detector
        self.face_threshold = face_threshold
        self.face_model_path = face_model_path
        self.progress = progress

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("features", "n_jobs", "working_size", "max_pixels", "face_detector",
                                              "face_threshold", "face_model_path", "progress")}

    def set_params(self, **params: Any) -> FeatureExtractor:
        for k, v in params.items():
            if k not in self.get_params():
                raise UnknownNameError(f"unknown parameter {k!r}.{did_you_mean(k, self.get_params())} Valid: "
                                       f"{sorted(self.get_params())}.")
            setattr(self, k, v)
        return self

    def fit(self, images: Any = None, y: Any = None) -> FeatureExtractor:
        self.feature_names_out_ = [c for s in resolve_features(self.features) for c in s.columns]
        return self

    def transform(self, images: Any) -> FeatureTable:
        if not hasattr(self, "feature_names_out_"):
            from ..exceptions import NotFittedError

            raise NotFittedError("This FeatureExtractor is not fitted yet; call fit() or fit_transform().")
        return extract_features(images, features=self.features, n_jobs=self.n_jobs, progress=self.progress,
                                working_size=self.working_size, max_pixels=self.max_pixels,
                                face_detector=self.face_detector, face_threshold=self.face_threshold,
                                face_model_path=self.face_model_path)

    def fit_transform(self, images: Any, y: Any = None) -> FeatureTable:
        return self.fit(images).transform(images)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array(self.feature_names_out_ if hasattr(self, "feature_names_out_") else
                        [c for s in resolve_features(self.features) for c in s.columns], dtype=object)


def cluster_artworks(table: pd.DataFrame, k: int, *, random_state: Any = None) -> pd.DataFrame:
    """Group artworks into ``k`` look-alike clusters (k-means on standardised ``emb_*`` columns).

    Returns a frame indexed like ``table`` with ``cluster`` and ``distance`` (to its centre),
    so creatives can browse each cluster from its most typical artwork outwards.
    """
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    from .._validation import check_random_state

    cols = [c for c in table.columns if str(c).startswith("emb_")]
    if not cols:
        raise FeatureError("cluster_artworks needs embedding columns: extract with features=['default', 'embedding'].")
    if not 1 <= k <= len(table):
        raise InvalidParameterError(f"k must be between 1 and the number of artworks ({len(table)}), got {k}.")
    x = StandardScaler().fit_transform(table[cols].to_numpy(dtype=float))
    seed = int(check_random_state(random_state).integers(2**31 - 1))
    model = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(x)
    distance = np.linalg.norm(x - model.cluster_centers_[model.labels_], axis=1)
    return pd.DataFrame({"cluster": model.labels_, "distance": distance}, index=table.index)
