"""Arrow schema of data files and the `huggingface` schema metadata (FORMAT.md §1.6). Pure.

The official loader casts each file to types built from info.json, so any castable type loads;
robosplice still writes the exact types the 0.6.1 recorder writes, so its files look like the
recorder's to the Hub viewer and to `datasets.load_dataset`.
"""

from __future__ import annotations

import json
from typing import Any, Final

import pyarrow as pa

from robosplice.format.info import Features, data_column_names, feature_shape

IMAGE_ARROW_TYPE: Final = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
_ARRAY_EXTENSION_NAMES: Final = {
    2: "Array2D",
    3: "Array3D",
    4: "Array4D",
    5: "Array5D",
}
_DTYPE_TO_ARROW: Final = {
    "float16": pa.float16(),
    "float32": pa.float32(),
    "float64": pa.float64(),
    "int8": pa.int8(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "uint8": pa.uint8(),
    "uint16": pa.uint16(),
    "uint32": pa.uint32(),
    "uint64": pa.uint64(),
    "bool": pa.bool_(),
    "string": pa.string(),
}


def leaf_type(arrow_type: pa.DataType) -> pa.DataType:
    """The element type under every list level (and extension storage) of `arrow_type`."""
    while True:
        if isinstance(arrow_type, pa.ExtensionType):
            arrow_type = arrow_type.storage_type
        elif (
            pa.types.is_list(arrow_type)
            or pa.types.is_large_list(arrow_type)
            or pa.types.is_fixed_size_list(arrow_type)
        ):
            arrow_type = arrow_type.value_type
        else:
            return arrow_type


def dtype_of_arrow(arrow_type: pa.DataType) -> str | None:
    """The feature dtype of one Arrow element type (None for a type no feature declares)."""
    if arrow_type == pa.large_string():
        return "string"
    return next((d for d, t in _DTYPE_TO_ARROW.items() if t == arrow_type), None)


def scalar_arrow_type(dtype: str) -> pa.DataType:
    """Arrow type of one element of a numeric or string feature."""
    try:
        return _DTYPE_TO_ARROW[dtype]
    except KeyError:
        raise ValueError(f"unsupported feature dtype {dtype!r}") from None


def feature_field(name: str, feature: dict[str, Any]) -> pa.Field:
    """The Arrow field the official recorder writes for one non-video feature."""
    dtype = feature["dtype"]
    if dtype == "image":
        return pa.field(name, IMAGE_ARROW_TYPE)
    shape = feature_shape(feature)
    element = scalar_arrow_type(dtype)
    if len(shape) <= 1 and (not shape or shape[0] == 1):
        return pa.field(name, element)
    if len(shape) == 1:
        return pa.field(name, pa.list_(element, shape[0]))
    storage: pa.DataType = element
    for _ in shape:
        storage = pa.list_(storage)
    metadata = {
        b"ARROW:extension:name": (
            f"datasets.features.features.{_ARRAY_EXTENSION_NAMES[len(shape)]}ExtensionType"
        ).encode(),
        b"ARROW:extension:metadata": json.dumps([list(shape), dtype]).encode(),
    }
    return pa.field(name, storage, metadata=metadata)


def hf_feature(feature: dict[str, Any], *, list_type: str = "List") -> dict[str, Any]:
    """HF `datasets` serialization of one feature, for the `huggingface` schema metadata.

    `list_type`: how a vector is tagged: `List` (datasets 4, v3.0) or `Sequence` (datasets 3.x,
    what v2.1 loaders read).
    """
    dtype = feature["dtype"]
    if dtype == "image":
        return {"_type": "Image"}
    shape = feature_shape(feature)
    if len(shape) <= 1 and (not shape or shape[0] == 1):
        return {"dtype": dtype, "_type": "Value"}
    if len(shape) == 1:
        return {
            "feature": {"dtype": dtype, "_type": "Value"},
            "length": shape[0],
            "_type": list_type,
        }
    return {"shape": list(shape), "dtype": dtype, "_type": _ARRAY_EXTENSION_NAMES[len(shape)]}


def data_schema(features: Features, passthrough: dict[str, pa.Field] | None = None) -> pa.Schema:
    """Schema of data files for `features`, with the `huggingface` metadata.

    Args:
        features: the info.json features.
        passthrough: fields for dtypes robosplice does not model (e.g. 0.6.1 `language`),
            taken from a source file and kept as they are.
    """
    passthrough = passthrough or {}
    fields = []
    hf_features = {}
    for name in data_column_names(features):
        feature = features[name]
        if feature["dtype"] in ("image", "string") or feature["dtype"] in _DTYPE_TO_ARROW:
            fields.append(feature_field(name, feature))
            hf_features[name] = hf_feature(feature)
        elif name in passthrough:
            fields.append(passthrough[name])
        else:
            raise ValueError(
                f"feature {name!r}: dtype {feature['dtype']!r} has no known Arrow type"
            )
    metadata = {b"huggingface": json.dumps({"info": {"features": hf_features}}).encode()}
    return pa.schema(fields, metadata=metadata)


def column_values(column: pa.ChunkedArray | pa.Array, shape: tuple[int, ...]) -> Any:
    """Values of a numeric column as a numpy array of shape (rows, *shape); (rows,) for (1,).

    Accepts every list layout real datasets use (fixed-size, variable, nested, HF extension).
    """
    import numpy as np

    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if isinstance(array, pa.ExtensionArray):
        array = array.storage
    rows = len(array)
    depth = 0
    while (
        pa.types.is_list(array.type)
        or pa.types.is_fixed_size_list(array.type)
        or pa.types.is_large_list(array.type)
    ):
        array = array.flatten()
        depth += 1
    values = array.to_numpy(zero_copy_only=False)
    if depth == 0:
        return values
    return np.asarray(values).reshape(rows, *shape)
