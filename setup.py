"""Only for the compiled hot paths; everything else about the package is in pyproject.toml.

The extensions are optional: without a C compiler the install still succeeds, and the code
uses their references instead (the same results, several times slower): the numpy fast path
for the combined / nginx_timing scanner, the Polars expressions for the registry routes, the
numpy passes that split a chunk into lines, Polars' JSON decoder for registry_json.
"""

from setuptools import Extension, setup

_FLAGS = ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]

# The headers the kernels include: a change to one rebuilds them.
_DEPENDS = ["rca/ingest/_view_buffers.h", "rca/ingest/_routes.h"]

setup(
    ext_modules=[
        Extension(name, [source], extra_compile_args=_FLAGS, optional=True, depends=_DEPENDS)
        for name, source in [
            ("rca.ingest.formats._clf_scan", "rca/ingest/formats/_clf_scan.c"),
            ("rca.ingest._derive_kernels", "rca/ingest/_derive_kernels.c"),
            ("rca.ingest._line_bounds", "rca/ingest/_line_bounds.c"),
            ("rca.ingest.formats._registry_scan", "rca/ingest/formats/_registry_scan.c"),
        ]
    ]
)
