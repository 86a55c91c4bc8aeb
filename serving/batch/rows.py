"""The output rows: their Parquet schema, built from the service's own Prediction values."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from serving.engine import Prediction, Status
from serving.model import NUM_CLASSES

BOX_TYPE = pa.struct([pa.field(name, pa.int32(), nullable=False)
                      for name in ("left", "top", "right", "bottom")])
# Float32 like the gRPC service's `float` fields: the model computes in float32.
OUTPUT_SCHEMA = pa.schema([
    pa.field("path", pa.string(), nullable=False),  # the input file, or the dataset's path value
    pa.field("status", pa.string(), nullable=False),  # digit, not_a_digit, blank or error (the
    # service's Result status, spelt as `python -m serving.client predict --json` spells it)
    pa.field("digit", pa.int8()),  # 0–9; null unless status is digit
    pa.field("confidence", pa.float32()),  # probability that the image shows `digit`; null
    # unless status is digit
    pa.field("not_digit_probability", pa.float32()),  # the model's 11th output, "not a digit"
    # (status is not_a_digit when it reaches the model's threshold; 0 for a 10-output model);
    # null unless the model ran (digit or not_a_digit)
    pa.field("probabilities", pa.list_(pa.float32(), NUM_CLASSES)),  # digits 0–9 given that it
    # is a digit (they sum to 1); null unless the model ran
    pa.field("box", BOX_TYPE),  # the classified ink in the image's pixels; null unless the model ran
    pa.field("error", pa.string()),  # why the image failed; null unless status is error
])
NODE_FIELD = pa.field("node_id", pa.string())  # the Ray node that classified the row (on request)
STATUSES = tuple(status.value for status in Status)


def output_schema(record_node: bool) -> pa.Schema:
    return OUTPUT_SCHEMA.append(NODE_FIELD) if record_node else OUTPUT_SCHEMA


def _box(prediction: Prediction) -> dict[str, int] | None:
    if prediction.box is None:
        return None
    left, top, right, bottom = prediction.box
    return {"left": left, "top": top, "right": right, "bottom": bottom}


def rows_table(paths: Sequence[str], predictions: Sequence[Prediction]) -> pa.Table:
    """One output row per (path, Prediction), in order."""
    ran = [p.status in (Status.DIGIT, Status.NOT_A_DIGIT) for p in predictions]
    digit = [p.status is Status.DIGIT for p in predictions]
    columns = [
        pa.array(paths, pa.string()),
        pa.array([p.status.value for p in predictions], pa.string()),
        pa.array([p.digit if d else None for p, d in zip(predictions, digit, strict=True)],
                 pa.int8()),
        pa.array([p.confidence if d else None for p, d in zip(predictions, digit, strict=True)],
                 pa.float32()),
        pa.array([p.not_digit_probability if r else None
                  for p, r in zip(predictions, ran, strict=True)], pa.float32()),
        pa.array([list(p.probabilities) if r else None
                  for p, r in zip(predictions, ran, strict=True)],
                 OUTPUT_SCHEMA.field("probabilities").type),
        pa.array([_box(p) if r else None for p, r in zip(predictions, ran, strict=True)],
                 BOX_TYPE),
        pa.array([p.error if p.status is Status.ERROR else None for p in predictions],
                 pa.string()),
    ]
    return pa.table(columns, schema=OUTPUT_SCHEMA)


def status_counts(table: pa.Table) -> dict[str, int]:
    """Rows per status value."""
    counts = table.column("status").value_counts().to_pylist()
    return {item["values"]: item["counts"] for item in counts}
