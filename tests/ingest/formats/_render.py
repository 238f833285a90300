"""Reference renderers for the log-format property tests: write lines the way the real
programs do, so parsing them back checks the parsers against the writers' rules."""

from __future__ import annotations


def go_format(ns: int) -> str:
    """Reference port of Go's ``time.Duration.String()``."""
    neg, u = ns < 0, abs(ns)

    def frac(v: int, prec: int) -> tuple[str, int]:
        digits = f"{v % 10**prec:0{prec}d}".rstrip("0") if prec else ""
        return ("." + digits if digits else ""), v // 10**prec

    if u < 1_000_000_000:
        if u == 0:
            return "0s"
        unit, prec = ("ns", 0) if u < 1000 else ("µs", 3) if u < 1_000_000 else ("ms", 6)
        fraction, whole = frac(u, prec)
        out = f"{whole}{fraction}{unit}"
    else:
        fraction, secs = frac(u, 9)
        out = f"{secs % 60}{fraction}s"
        mins = secs // 60
        if mins:
            out = f"{mins % 60}m" + out
            if mins // 60:
                out = f"{mins // 60}h" + out
    return "-" + out if neg else out
