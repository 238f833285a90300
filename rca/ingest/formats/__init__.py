"""The log formats rca reads, in detection priority order.

Each module defines ``FORMATS``, a list of :class:`~rca.ingest.formats._base.LogFormat`
objects. Detection scores every format on a file's first lines and ties go to the earlier
one, so specific formats come before general ones (``nginx_timing`` before ``combined``).
"""

from __future__ import annotations

from importlib import import_module

from rca._errors import IngestError
from rca.ingest.formats._base import LogFormat

# Module names (under this package), most specific first.
_MODULES = ("_registry", "_cloudflare", "_nginx_json", "_alb", "_cloudfront", "_combined")

#: Other names users may pass for a format.
ALIASES = {
    "nginx": "combined",
    "nginx_combined": "combined",
    "apache": "combined",
    "apache_combined": "combined",
    "registry": "registry_text",
    "logrus": "registry_text",
    "cloudflare_logpush": "cloudflare",
    "aws_alb": "alb",
    "elb": "alb",
}


def all_formats() -> list[LogFormat]:
    """Every built-in log format, in detection order."""
    formats: list[LogFormat] = []
    for name in _MODULES:
        try:
            module = import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:  # a format module not written yet
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        formats.extend(module.FORMATS)
    return formats


def get_format(name: str | LogFormat) -> LogFormat:
    """Look a format up by name or alias. A string containing ``$`` is an nginx
    ``log_format`` definition, compiled into a parser.

    Raises
    ------
    IngestError
        The name is unknown; the message lists the known names.
    """
    if not isinstance(name, str):
        return name
    if "$" in name:
        from rca.ingest.formats._log_format import compile_log_format

        return compile_log_format(name)
    key = ALIASES.get(name.lower(), name.lower())
    formats = all_formats()
    for fmt in formats:
        if fmt.name == key:
            return fmt
    known = ", ".join(sorted({f.name for f in formats} | set(ALIASES)))
    raise IngestError(
        f"unknown log format {name!r}; known formats: {known}, or an nginx log_format string"
    )
