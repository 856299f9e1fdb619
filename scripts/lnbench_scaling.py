"""lnbench_scaling - thread-scaling figures of a speed run (scripts/report).

GB/s against the thread count, one panel per kernel, with the streaming
peak measured at every count beside it: stream_copy (read x, write y with
non-temporal stores) as a dashed line and memcpy dotted, both from the same
run, shape and pinning.  A run made with `lnbench speed --threads sweep`
has 1, 2, 4, ... threads up to the cores, then the SMT siblings; the
threads past the cores are shaded.
"""

import math
import os

import lnbench_results as L

STREAM_COLOR = "0.2"
MEMCPY_COLOR = "0.55"
PANEL_COLUMNS = 4


def scaling_shapes(speed):
    """[(dim, rows, [threads...])]: per dim, the shape with the most rows
    among those measured at two or more thread counts (the DRAM-resident
    one in a default run: where bandwidth, not the core, limits)."""
    counts = {}
    for b in speed.benches.values():
        if b.dim and b.rows and b.threads and not b.error and b.time_samples() \
                and b.kernel not in L.REFERENCE_KERNELS:
            counts.setdefault((b.dim, b.rows), set()).add(b.threads)
    best = {}
    for (dim, rows), ts in counts.items():
        if len(ts) >= 2 and (dim not in best or rows > best[dim][0]):
            best[dim] = (rows, sorted(ts))
    return [(dim, rows, ts) for dim, (rows, ts) in sorted(best.items())]


def _int(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def scaling_figure(plt, machine, speed, dim, rows, threads, colors, path):
    """Draws one figure (a panel per kernel) into path."""
    kernels = L.kernel_order({b.kernel for b in speed.benches.values()
                              if b.dim == dim and b.rows == rows})
    ncol = min(PANEL_COLUMNS, max(1, len(kernels)))
    nrow = max(1, math.ceil(len(kernels) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol + 1, 2.7 * nrow + 0.8),
                             squeeze=False, sharex=True)
    ctx = speed.context
    cores = _int(ctx.get("cores"))
    refs = {t: L.references_at(speed, dim, rows, t) for t in threads}
    stream = [refs[t].get("stream_copy") or math.nan for t in threads]
    memcpy = [refs[t].get("memcpy") or math.nan for t in threads]
    top = max([v for v in stream + memcpy if v == v] + [0.0])
    for i, k in enumerate(kernels):
        ax = axes[i // ncol][i % ncol]
        ys = []
        for t in threads:
            b = speed.benches.get(f"{k}/dim:{dim}/rows:{rows}/threads:{t}")
            g = L.gbps(b) if b is not None and not b.error and b.time_samples() else None
            ys.append(g or math.nan)
        top = max([top] + [y for y in ys if y == y])
        ax.plot(threads, stream, linestyle="--", color=STREAM_COLOR, linewidth=1.3,
                label="stream_copy (streaming peak)")
        ax.plot(threads, memcpy, linestyle=":", color=MEMCPY_COLOR, linewidth=1.3,
                label="memcpy")
        ax.plot(threads, ys, marker="o", markersize=4, linewidth=1.8,
                color=colors.get(k, "C0"), label=k)
        if cores and threads[-1] > cores:
            ax.axvspan(cores, threads[-1], color="0.9", zorder=0)
        ax.set_title(k, fontsize=9)
        ax.set_xscale("log", base=2)
        ax.set_xticks(threads)
        ax.set_xticklabels([str(t) for t in threads], fontsize=7)
        ax.minorticks_off()
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(True, alpha=0.3)
    for i in range(len(kernels), nrow * ncol):
        axes[i // ncol][i % ncol].set_visible(False)
    for ax in axes.flat:
        ax.set_ylim(0, top * 1.08 if top > 0 else 1)
    for r in range(nrow):
        axes[r][0].set_ylabel("GB/s", fontsize=8)
    for c in range(ncol):
        axes[nrow - 1][c].set_xlabel("threads", fontsize=8)
    reg = L.regime(ctx, 8 * dim * rows, 1) or "?"
    smt = " (shaded: SMT siblings, past the %d cores)" % cores \
        if cores and threads[-1] > cores else ""
    fig.suptitle(f"{machine}: GB/s vs threads, {rows} x {dim} ({reg} at 1 thread), "
                 f"pin {ctx.get('pin', '?')}{smt}", fontsize=10)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles[:2], labels[:2], loc="lower right", fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    fig.savefig(path, dpi=90)
    plt.close(fig)


def scaling_plots(plt, speeds, outdir, colors):
    """Writes plots/scaling_<machine>_<dim>.png for every machine whose run
    measured two or more thread counts; returns [(relpath, caption)]."""
    made = []
    for m in sorted(speeds):
        for dim, rows, threads in scaling_shapes(speeds[m]):
            rel = f"plots/scaling_{L.slug(m)}_{dim}.png"
            scaling_figure(plt, m, speeds[m], dim, rows, threads, colors,
                           os.path.join(outdir, rel))
            made.append((rel, f"{m}: GB/s against threads per kernel at {rows} x {dim}, "
                              "with the streaming peak (stream_copy, dashed) and memcpy "
                              "(dotted) measured at every thread count"))
    return made
