"""Only for the compiled scanner; everything else about the package is in pyproject.toml.

The extension is optional: without a C compiler the install still succeeds and the combined
/ nginx_timing parsers use their numpy fast path (the same results, several times slower).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "rca.ingest.formats._clf_scan",
            ["rca/ingest/formats/_clf_scan.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        )
    ]
)
