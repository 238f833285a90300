"""Writers that turn the long metrics frame into files of each supported metrics format.

- ``prometheus_json``: one ``/api/v1/query_range`` response per metric name, values as
  ``[unix_seconds, "string"]`` (``"NaN"`` included), as Prometheus' HTTP API returns them.
- ``prometheus_text``: the text exposition format with millisecond timestamps; one
  ``# HELP``/``# TYPE`` block per family, a family's samples contiguous.
- ``csv_long``: ``timestamp,metric,<label columns>,value`` with RFC 3339 timestamps.
- ``grafana_csv``: one wide file per metric (a Grafana panel's "Download CSV"): ``Time``
  plus one column per series named ``name{k="v", ...}``; comma or semicolon separated,
  with an optional ``sep=`` first line, depending on the seed.
- ``parquet``: the long frame itself.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import polars as pl

from rca._errors import ParameterError
from rca._schema import parse_labels

METRICS_FORMATS = ("prometheus_json", "prometheus_text", "csv_long", "grafana_csv", "parquet")


def _value_text(v: pl.Expr) -> pl.Expr:
    """Go's strconv.FormatFloat(v, 'f', -1, 64)-like shortest text, NaN as ``NaN``."""
    return pl.when(v.is_nan()).then(pl.lit("NaN")).otherwise(v.round_sig_figs(10).cast(pl.String))


def _clean_value_text(s: pl.Expr) -> pl.Expr:
    # Polars prints 3.0 as "3.0"; Prometheus prints "3". Keep the spec's form.
    return s.str.replace(r"\.0$", "")


def _series_name(metric: str, labels: str) -> str:
    inner = ", ".join(f'{k}="{v}"' for k, v in parse_labels(labels).items())
    return f"{metric}{{{inner}}}" if inner else metric


def write_metrics(
    frame: pl.DataFrame,
    metrics_format: str,
    out_dir: Path,
    rng: np.random.Generator,
    *,
    help_text: dict[str, str] | None = None,
    compress: bool = False,
) -> tuple[str, ...]:
    """Write the long metrics ``frame`` as ``metrics_format`` under ``out_dir``; text
    formats are gzipped when ``compress``."""
    files = _write(frame, metrics_format, out_dir, rng, help_text)
    if not compress or metrics_format == "parquet":
        return files
    out = []
    for name in files:
        path = out_dir / name
        (out_dir / f"{name}.gz").write_bytes(gzip.compress(path.read_bytes(), mtime=0))
        path.unlink()
        out.append(f"{name}.gz")
    return tuple(out)


def _write(
    frame: pl.DataFrame,
    metrics_format: str,
    out_dir: Path,
    rng: np.random.Generator,
    help_text: dict[str, str] | None,
) -> tuple[str, ...]:
    if metrics_format not in METRICS_FORMATS:
        raise ParameterError(
            f"unknown metrics format {metrics_format!r}; choose one of {', '.join(METRICS_FORMATS)}"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = frame.sort("metric", "labels", "ts", maintain_order=True)
    help_text = help_text or {}
    text = _clean_value_text(_value_text(pl.col("value")))
    if metrics_format == "parquet":
        frame.write_parquet(out_dir / "metrics.parquet")
        return ("metrics.parquet",)
    if metrics_format == "csv_long":
        keys = sorted({k for lab in frame["labels"].unique().to_list() for k in parse_labels(lab)})
        keys = [k for k in keys if k not in ("timestamp", "metric", "value")]
        lab = pl.col("labels")
        cols = [pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("timestamp"), pl.col("metric")]
        cols += [
            lab.str.extract(rf"(?:^|,){k}=((?:[^,\\]|\\.)*)")
            .str.replace_all(r"\\(.)", "$1")
            .fill_null("")
            .alias(k)
            for k in keys
        ]
        cols.append(text.alias("value"))
        frame.select(cols).write_csv(out_dir / "metrics.csv")
        return ("metrics.csv",)
    files = []
    if metrics_format == "prometheus_text":
        lines: list[str] = []
        frame = frame.with_columns(
            sample=pl.concat_str(
                [
                    pl.col("metric"),
                    pl.col("labels").replace_strict(
                        {lab: _prom_labels(lab) for lab in frame["labels"].unique()},
                        return_dtype=pl.String,
                    ),
                    pl.lit(" "),
                    text,
                    pl.lit(" "),
                    (pl.col("ts").dt.epoch("ms")).cast(pl.String),
                ]
            )
        )
        for (name,), part in frame.group_by("metric", maintain_order=True):
            lines.append(f"# HELP {name} {help_text.get(str(name), str(name).replace('_', ' '))}")
            lines.append(f"# TYPE {name} gauge")
            lines.extend(part["sample"].to_list())
        (out_dir / "metrics.prom").write_text("\n".join(lines) + "\n")
        return ("metrics.prom",)
    if metrics_format == "prometheus_json":
        for (name,), part in frame.group_by("metric", maintain_order=True):
            result: list[dict[str, object]] = []
            for (labels,), series in part.group_by("labels", maintain_order=True):
                ts = series["ts"].dt.epoch("ms").to_numpy() / 1000.0
                vals = series.select(text).to_series().to_list()
                result.append(
                    {
                        "metric": dict(__name__=str(name), **parse_labels(str(labels))),
                        "values": [[_num(t), v] for t, v in zip(ts, vals, strict=True)],
                    }
                )
            doc = {"status": "success", "data": {"resultType": "matrix", "result": result}}
            path = out_dir / f"{name}.json"
            path.write_text(json.dumps(doc, separators=(",", ":")))
            files.append(path.name)
        return tuple(files)
    # grafana_csv
    sep = ";" if rng.random() < 0.4 else ","
    sep_line = rng.random() < 0.5
    for (name,), part in frame.group_by("metric", maintain_order=True):
        wide = (
            part.with_columns(
                series=pl.col("labels").replace_strict(
                    {lab: _series_name(str(name), lab) for lab in part["labels"].unique()},
                    return_dtype=pl.String,
                ),
                value=text,
            )
            .pivot(on="series", index="ts", values="value")
            .sort("ts")
        )
        wide = wide.with_columns(pl.col("ts").dt.strftime("%Y-%m-%d %H:%M:%S")).rename(
            {"ts": "Time"}
        )
        path = out_dir / f"{name}.csv"
        body = wide.write_csv(separator=sep, quote_style="always", null_value="")
        path.write_text((f"sep={sep}\n" if sep_line else "") + body)
        files.append(path.name)
    return tuple(files)


def _num(t: float) -> float | int:
    return int(t) if float(t).is_integer() else round(float(t), 3)


def _prom_labels(labels: str) -> str:
    pairs = parse_labels(labels)
    if not pairs:
        return ""
    esc = {
        k: v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        for k, v in pairs.items()
    }
    return "{" + ",".join(f'{k}="{v}"' for k, v in esc.items()) + "}"
