"""Latency figures shared by the bench scripts: nearest-rank percentiles,
a p50/p90/p99/mean summary, and microseconds printed for people."""


def percentile(sorted_values, q):
    """Nearest-rank percentile of a sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * q // 100))
    return sorted_values[int(rank) - 1]


def summary(values_us):
    values = sorted(values_us)
    return {"n": len(values), "p50_us": percentile(values, 50), "p90_us": percentile(values, 90),
            "p99_us": percentile(values, 99), "mean_us": sum(values) / len(values) if values else float("nan")}


def fmt_us(us, decimals=1):
    return f"{us / 1000:,.2f} ms" if us >= 1000 else f"{us:,.{decimals}f} us"
