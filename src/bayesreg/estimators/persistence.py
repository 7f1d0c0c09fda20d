"""Save a fitted estimator to one netCDF file and load it back, without pickle.

The file is an :class:`xarray.DataTree` written with the h5netcdf engine:

* root attributes: a format marker and version, the estimator's class name, its constructor
  parameters as JSON, the library versions that wrote it, and every scalar fitted attribute as JSON
  (``intercept_``, ``noise_sigma_``, ``n_features_in_``, ...);
* ``/fitted/arrays``: every array attribute (``coef_``, ``map_coef_``, ``classes_``,
  ``feature_names_in_``, the training column means ``_x_mean``, ...);
* ``/fitted/<name>``: one group per result object (the MAP and its Laplace covariance, the exact
  Gaussian posterior, the convergence report), their arrays as variables and scalars as JSON;
* ``/fitted/idata_``: the posterior DataTree as the sampler left it (posterior, sample_stats,
  observed_data, log_likelihood). Object variables of strings and None (nutpie's per-draw
  ``divergence_message``) are stored as strings, None as ``""`` (or another string absent from
  the variable) named in the variable's ``bayesreg_none_as`` attribute, so that load gives back
  None (netCDF has no None: unmarked, it would come back as NaN).

Loading checks what it reads (:mod:`bayesreg.estimators.loaded_state`): the parameters with the
constraints ``fit`` uses, and every fitted attribute for its presence and its shape against
``n_features_in_``; a file that fails is refused with a ``ValueError`` naming it and the field.

Nothing in the file is executed on load: classes are looked up in the registry that the estimators'
base class fills (:mod:`bayesreg.estimators.registry`), never imported by name, so a file can only ever
rebuild a bayesreg estimator. float64 arrays and JSON floats both round
trip bit for bit, so a loaded estimator predicts exactly what the original did.

Examples
--------
>>> import numpy as np, tempfile, pathlib
>>> from bayesreg import BayesianLinearRegression
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(30, 2)); y = X @ [1.0, -1.0] + rng.normal(size=30)
>>> est = BayesianLinearRegression(1.0, noise_sigma=1.0, method="exact", random_state=0).fit(X, y)
>>> path = pathlib.Path(tempfile.mkdtemp()) / "model.nc"
>>> save_estimator(est, path)
>>> loaded = load_estimator(path)
>>> bool(np.array_equal(loaded.predict(X), est.predict(X)))
True
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Final

import numpy as np
import xarray as xr

from bayesreg._warn import warn_user
from bayesreg.estimators.loaded_state import check_loaded
from bayesreg.estimators.registry import estimator_class

__all__ = ["FORMAT_MARKER", "FORMAT_VERSION", "load_estimator", "save_estimator", "saved_versions"]

FORMAT_MARKER = "bayesreg.estimator"
FORMAT_VERSION = 1
_ENGINE: Final = "h5netcdf"  # Final keeps its Literal type for to_netcdf's engine
_FITTED = "fitted"
_ARRAYS = f"{_FITTED}/arrays"
_DTYPE_ATTR = "bayesreg_dtype"
_NONE_ATTR = "bayesreg_none_as"  # on a string variable of a DataTree group: this string was None
_LIBRARIES = ("pymc", "arviz", "numpy", "scikit-learn", "xarray", "scipy")


# --- the classes a file may name ------------------------------------------------------------------


def _result_classes() -> dict[str, type]:
    from bayesreg.backend.diagnostics import ConvergenceReport
    from bayesreg.backend.results import MapResult
    from bayesreg.estimators.laplace_psis import LaplaceReport
    from bayesreg.stats.conjugate import GaussianPosterior

    classes = (MapResult, GaussianPosterior, ConvergenceReport, LaplaceReport)
    return {cls.__name__: cls for cls in classes}


# --- encoding -------------------------------------------------------------------------------------


def _json_scalar(name: str, value: Any) -> Any:
    """A JSON-able Python scalar for ``value`` (numpy scalars become Python ones)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise TypeError(f"cannot save {name!r} = {value!r} (type {type(value).__name__}) as JSON")


def _to_json(name: str, value: Any) -> str:
    try:
        return json.dumps(value, allow_nan=True, default=lambda v: _json_scalar(name, v))
    except TypeError as exc:
        raise ValueError(
            f"Cannot save the estimator: {exc}. Only JSON-compatible values can be saved."
        ) from exc


def _encode_param(value: Any) -> Any:
    """Per-feature parameters as JSON: an array as a list, a Series as a dict keyed by name.

    The estimators accept both forms, so the loaded estimator fits and predicts the same.
    """
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "to_dict") and hasattr(value, "index"):
        return {str(k): float(v) for k, v in value.to_dict().items()}
    return value


def _encode_random_state(value: Any) -> Any:
    if isinstance(value, np.random.Generator):
        state = value.bit_generator.state
        return {"__numpy_generator__": _json_safe(state)}
    return value


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return _json_scalar("random_state", value)


def _decode_random_state(value: Any) -> Any:
    if isinstance(value, dict) and "__numpy_generator__" in value:
        state = value["__numpy_generator__"]
        allowed = {"PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"}
        name = state.get("bit_generator")
        if name not in allowed:
            raise ValueError(f"unknown bit generator {name!r} in the saved random_state")
        bit_generator = getattr(np.random, name)()
        if name == "MT19937":
            state["state"]["key"] = np.asarray(state["state"]["key"], dtype=np.uint32)
        bit_generator.state = state
        return np.random.Generator(bit_generator)
    return value


def _array_dataset(arrays: dict[str, np.ndarray]) -> xr.Dataset:
    """One variable per array, each with its own dimension names, and its dtype recorded."""
    data_vars = {}
    for name, value in arrays.items():
        arr = np.asarray(value)
        dims = tuple(f"{name}__dim{i}" for i in range(arr.ndim))
        stored = arr.astype(str) if arr.dtype == object else arr
        data_vars[name] = xr.Variable(dims, stored, attrs={_DTYPE_ATTR: arr.dtype.str})
    return xr.Dataset(data_vars)


def _dataset_arrays(ds: xr.Dataset) -> dict[str, np.ndarray]:
    """Inverse of :func:`_array_dataset`: the arrays with their original dtypes."""
    out = {}
    for name, var in ds.data_vars.items():
        values = np.asarray(var.values)
        dtype = np.dtype(var.attrs.get(_DTYPE_ATTR, values.dtype.str))
        if dtype.kind == "O":  # strings (feature names, labels) stored as netCDF strings
            values = np.array([str(v) for v in values.ravel()], dtype=object).reshape(values.shape)
        else:
            values = values.astype(dtype, copy=False)
        out[str(name)] = values
    return out


def _encode_result(obj: Any) -> xr.DataTree:
    """A dataclass of bayesreg results as a group: arrays as variables, the rest as JSON."""
    arrays: dict[str, np.ndarray] = {}
    scalars: dict[str, Any] = {}
    mappings: list[str] = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, dict):
            mappings.append(f.name)
            for key, item in value.items():
                arrays[f"{f.name}.{key}"] = np.asarray(item)
        elif isinstance(value, np.ndarray):
            arrays[f.name] = value
        else:
            scalars[f.name] = value
    ds = _array_dataset(arrays)
    ds.attrs = {
        "result_class": type(obj).__name__,
        "scalars": _to_json(type(obj).__name__, scalars),
        "mappings": _to_json(type(obj).__name__, mappings),
    }
    return xr.DataTree(ds)


def _decode_result(node: xr.DataTree) -> Any:
    ds = node.to_dataset()
    cls = _result_classes()[ds.attrs["result_class"]]
    kwargs = json.loads(ds.attrs["scalars"])
    mappings = json.loads(ds.attrs["mappings"])
    arrays = _dataset_arrays(ds)
    for field_name in mappings:
        kwargs[field_name] = {}
    for name, value in arrays.items():
        head, _, key = name.partition(".")
        if head in mappings:
            kwargs[head][key] = value
        else:
            kwargs[name] = value
    return cls(**kwargs)


def _is_str_or_none(var: xr.DataArray) -> bool:
    return var.dtype == object and all(v is None or isinstance(v, str) for v in var.values.ravel())


def _none_as_string(var: xr.DataArray) -> xr.Variable:
    """Strings, None written as ``""`` (or, if ``""`` occurs, a string that does not), recorded."""
    strings = {v for v in var.values.ravel() if v is not None}
    none_as = ""
    while none_as in strings:
        none_as += "<None>"
    flat = [none_as if v is None else v for v in var.values.ravel()]
    values = np.array(flat, dtype=object).reshape(var.shape)
    return xr.Variable(var.dims, values, attrs=var.attrs | {_NONE_ATTR: none_as})


def _string_as_none(var: xr.DataArray) -> xr.Variable:
    none_as = str(var.attrs[_NONE_ATTR])
    strings = np.array([str(v) for v in np.asarray(var.values).ravel()], dtype=object).reshape(var.shape)
    attrs = {k: v for k, v in var.attrs.items() if k != _NONE_ATTR}
    restored = xr.Variable(var.dims, strings, attrs=attrs)
    # In place: xarray turns None into NaN when it builds a variable from an object array.
    restored.values[strings == none_as] = None
    return restored


def _encode_none_strings(tree: xr.DataTree) -> xr.DataTree:
    """A copy of ``tree`` whose object variables of str and None are strings, None as a marked one."""
    out = tree.copy()
    for node in out.subtree:
        ds = node.to_dataset(inherit=False)
        marked = {name: _none_as_string(var) for name, var in ds.data_vars.items() if _is_str_or_none(var)}
        if marked:
            node.dataset = ds.assign(marked)
    return out


def _decode_none_strings(tree: xr.DataTree) -> None:
    """Inverse of :func:`_encode_none_strings`, in place: the marked strings become None again."""
    for node in tree.subtree:
        ds = node.to_dataset(inherit=False)
        marked = {name: _string_as_none(var) for name, var in ds.data_vars.items() if _NONE_ATTR in var.attrs}
        if marked:
            node.dataset = ds.assign(marked)


def _library_versions() -> dict[str, str]:
    from bayesreg._version import __version__

    versions = {"bayesreg": __version__}  # the package's own, not an install's metadata
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _fitted_attributes(est: Any) -> dict[str, Any]:
    """Everything ``fit`` set: public ``name_`` attributes plus the private ones predict needs."""
    params = set(est.get_params(deep=False))
    return {
        name: value
        for name, value in vars(est).items()
        if name not in params
        and not name.startswith("__")
        and (name.endswith("_") or name in type(est)._private_fitted_attrs)
    }


def _to_tree(est: Any) -> xr.DataTree:
    results = _result_classes()
    params = {name: _encode_param(value) for name, value in est.get_params(deep=False).items()}
    params["random_state"] = _encode_random_state(params["random_state"])
    scalars: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    groups: dict[str, xr.DataTree] = {}
    for name, value in _fitted_attributes(est).items():
        if isinstance(value, xr.DataTree):
            groups[name] = _encode_none_strings(value)
        elif type(value).__name__ in results and isinstance(value, results[type(value).__name__]):
            groups[name] = _encode_result(value)
        elif isinstance(value, np.ndarray):
            arrays[name] = value
        else:
            scalars[name] = _json_scalar(name, value) if value is not None else None

    root = xr.DataTree()
    root.attrs = {
        "format": FORMAT_MARKER,
        "format_version": FORMAT_VERSION,
        "estimator_class": type(est).__name__,
        "params": _to_json("params", params),
        "fitted_scalars": _to_json("fitted attributes", scalars),
        "fitted_groups": _to_json("fitted attributes", sorted(groups)),
        "versions": _to_json("versions", _library_versions()),
    }
    root[_ARRAYS] = xr.DataTree(_array_dataset(arrays))
    for name, node in groups.items():
        root[f"{_FITTED}/{name}"] = node
    return root


# --- saving ---------------------------------------------------------------------------------------


def save_estimator(est: Any, path: str | os.PathLike, *, overwrite: bool = False) -> None:
    """Write a fitted estimator to one netCDF file at ``path``, atomically.

    Parameters
    ----------
    est : BayesianLinearRegression or BayesianLogisticRegression
        A fitted estimator (any method).
    path : str or path-like
        Where to write; ``.nc`` is the conventional suffix.
    overwrite : bool, default False
        Replace an existing file. Without it an existing ``path`` raises ``FileExistsError``.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    FileNotFoundError, NotADirectoryError, PermissionError, OSError
        The folder of ``path`` does not exist, is not a folder, or cannot be written; the message
        names the folder.
    ValueError
        A parameter (e.g. a ``sample_kwargs`` entry) cannot be stored as JSON.

    Notes
    -----
    The file is written to a temporary file in the same directory, flushed to disk and then moved
    into place with one rename, so ``path`` never holds a half-written file; the temporary file is
    removed if anything fails.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from bayesreg import BayesianLogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 2)); y = (X[:, 0] + rng.logistic(size=40) > 0).astype(int)
    >>> est = BayesianLogisticRegression(1.0, method="map").fit(X, y)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "clf.nc"
    >>> save_estimator(est, path)
    >>> save_estimator(est, path)
    Traceback (most recent call last):
    ...
    FileExistsError: ... already exists; pass overwrite=True to replace it.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est)
    if estimator_class(type(est).__name__) is not type(est):
        raise TypeError(f"save_estimator saves bayesreg estimators, not {type(est).__name__}.")
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it.")
    tree = _to_tree(est)
    tmp = _temporary_file_beside(path)
    try:
        tree.to_netcdf(tmp, engine=_ENGINE)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            # A hard link fails if ``path`` appeared meanwhile, so a file created by someone else
            # after the check above is still never replaced.
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it.") from None
            except OSError:  # no hard links on this file system
                if path.exists():
                    raise FileExistsError(
                        f"{path} already exists; pass overwrite=True to replace it."
                    ) from None
                os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _temporary_file_beside(path: Path) -> Path:
    """A new empty hidden file in the folder of ``path``; errors name that folder, not the file."""
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        if directory.exists():
            raise NotADirectoryError(f"Cannot save to {path}: {directory} is not a folder.")
        raise FileNotFoundError(
            f"Cannot save to {path}: the folder {directory} does not exist; create it first "
            "(e.g. pathlib.Path(folder).mkdir(parents=True))."
        )
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        message = f"Cannot save to {path}: cannot create a file in the folder {directory} ({exc.strerror})."
        raise (OSError(exc.errno, message) if exc.errno else OSError(message)) from None
    os.close(fd)
    return Path(tmp_name)


# --- loading --------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Numpy scalars as Python ones, for messages."""
    return value.item() if isinstance(value, np.generic) else value


def _read_tree(path: Path) -> xr.DataTree:
    try:
        tree = xr.open_datatree(path, engine=_ENGINE)
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise ValueError(
            f"{path} is not a bayesreg estimator file: it cannot be read as netCDF/HDF5 "
            f"(it may be truncated or another kind of file): {type(exc).__name__}: {exc}"
        ) from exc
    try:
        tree.load()
    except Exception as exc:
        raise ValueError(
            f"{path} is not a complete bayesreg estimator file: its data cannot be read "
            f"(it may be truncated or corrupted): {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        tree.close()
    return tree


def load_estimator(path: str | os.PathLike, expected_class: type | None = None) -> Any:
    """Rebuild a fitted estimator saved by :func:`save_estimator`.

    Parameters
    ----------
    path : str or path-like
        The file.
    expected_class : type, optional
        Refuse a file holding another class (e.g. ``BayesianLinearRegression``). Any bayesreg
        estimator by default.

    Returns
    -------
    BayesianLinearRegression or BayesianLogisticRegression
        Fitted, with the saved parameters, posterior and fitted attributes; it predicts exactly
        what the saved estimator did.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        ``path`` is not a bayesreg estimator file (another format, a truncated file, an unknown
        format version), holds another class than ``expected_class``, or holds a fit that ``fit``
        could not have made: a parameter out of the range ``fit`` accepts (e.g. a negative
        ``prior_sigma``), a missing fitted attribute, or an array whose shape disagrees with
        ``n_features_in_``. The message names the file and the field.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "notes.nc"
    >>> _ = path.write_text("not a model")
    >>> load_estimator(path)
    Traceback (most recent call last):
    ...
    ValueError: ... is not a bayesreg estimator file: it cannot be read as netCDF/HDF5 ...
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No such file: {path}")
    tree = _read_tree(path)
    attrs = tree.attrs
    marker = attrs.get("format")
    if marker != FORMAT_MARKER:
        raise ValueError(
            f"{path} is a netCDF file but not a bayesreg estimator file: its 'format' attribute is "
            f"{marker!r}, expected {FORMAT_MARKER!r}."
        )
    version = attrs.get("format_version")
    if not isinstance(version, int | np.integer) or not 1 <= int(version) <= FORMAT_VERSION:
        raise ValueError(
            f"{path} has format version {_plain(version)!r}; this bayesreg reads versions 1 to "
            f"{FORMAT_VERSION}. Upgrade bayesreg to load it."
        )
    class_name = attrs.get("estimator_class")
    cls = estimator_class(class_name) if isinstance(class_name, str) else None
    if cls is None:
        raise ValueError(f"{path} names an unknown estimator class {class_name!r}.")
    if expected_class is not None and not issubclass(cls, expected_class):
        raise ValueError(
            f"{path} holds a {class_name}, not a {expected_class.__name__}: load it with "
            f"{class_name}.load(...) or bayesreg.estimators.persistence.load_estimator(...)."
        )
    try:
        est = _from_tree(tree, cls)
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is a damaged bayesreg estimator file: {type(exc).__name__}: {exc}") from exc
    try:
        check_loaded(est)
    except ValueError as exc:
        raise ValueError(f"{path} holds a fit that {class_name}.fit could not have made: {exc}.") from exc
    _warn_if_written_by_another_version(path, attrs)
    return est


def _warn_if_written_by_another_version(path: Path, attrs: Any) -> None:
    """Say so when another bayesreg wrote the file, as scikit-learn does for its pickles."""
    try:
        saved = json.loads(attrs["versions"]).get("bayesreg")
    except (KeyError, TypeError, json.JSONDecodeError):
        saved = None
    current = _library_versions()["bayesreg"]
    if saved != current:
        warn_user(
            f"{path} was written by bayesreg {saved}; this is bayesreg {current}. The saved draws and "
            "fitted attributes are loaded as they were, but may differ from what this version would "
            "fit: refit if that matters.",
            UserWarning,
        )


def _from_tree(tree: xr.DataTree, cls: type) -> Any:
    params = json.loads(tree.attrs["params"])
    params["random_state"] = _decode_random_state(params.get("random_state"))
    expected = set(cls().get_params(deep=False))
    unknown = sorted(set(params) - expected)
    if unknown:
        raise ValueError(f"parameters {unknown} are not parameters of {cls.__name__}")
    est = cls(**params)
    for name, value in json.loads(tree.attrs["fitted_scalars"]).items():
        setattr(est, name, value)
    for name, value in _dataset_arrays(tree[_ARRAYS].to_dataset()).items():
        setattr(est, name, value)
    for name in json.loads(tree.attrs["fitted_groups"]):
        node = tree[f"{_FITTED}/{name}"]
        if not isinstance(node, xr.DataTree):
            raise ValueError(f"{_FITTED}/{name} is a variable, not a group")
        if "result_class" in node.attrs:
            setattr(est, name, _decode_result(node))
        else:
            idata = node.copy()
            idata.orphan()
            _decode_none_strings(idata)
            setattr(est, name, idata)
    return est


def saved_versions(path: str | os.PathLike) -> dict[str, str]:
    """The library versions recorded in a file written by :func:`save_estimator`.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from bayesreg import BayesianLinearRegression
    >>> X = np.arange(10.0).reshape(5, 2); y = np.arange(5.0)
    >>> est = BayesianLinearRegression(1.0, noise_sigma=1.0, method="map").fit(X, y)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.nc"
    >>> save_estimator(est, path)
    >>> sorted(saved_versions(path))[:3]
    ['arviz', 'bayesreg', 'numpy']
    """
    tree = _read_tree(Path(path))
    if tree.attrs.get("format") != FORMAT_MARKER:
        raise ValueError(f"{path} is not a bayesreg estimator file.")
    return json.loads(tree.attrs["versions"])
