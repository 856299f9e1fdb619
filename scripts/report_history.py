"""report_history - trend charts over the commits of a history store (scripts/history).

`scripts/report --history STORE -o OUTDIR` lands here.  Per CI leg it draws,
over the store's runs in order (x axis: the commits):

  speed-<leg>-<shape>.png     median time per row of each kernel at one shape
                              and thread count (references dotted grey: a
                              move of theirs is the machine, not the code)
  icount-<leg>-<shape>.png    instructions per element of each kernel
  accuracy-<leg>-<kernel>.png worst max ulp over the dims, per distribution
                              (log scale; an infinite error is drawn at the
                              top edge as a triangle)

A commit the gate failed has a red band; a point whose key the gate flagged
at that commit has a red ring.  OUTDIR gets history.md, history.html (plots
embedded) and plots/*.png, built under a temporary name and renamed into
place (an existing OUTDIR only with --force).
"""

import base64
import html
import math
import os

import lnbench_results as L

FLAG = "#d62728"


def plt_module():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise L.InputError("report --history needs matplotlib: apt-get install "
                           "python3-matplotlib and run with /usr/bin/python3")
    return plt


def load_store(store):
    import importlib.machinery
    import importlib.util
    here = os.path.dirname(os.path.abspath(__file__))
    loader = importlib.machinery.SourceFileLoader("lnbench_history", os.path.join(here, "history"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    if not os.path.isdir(store):
        raise L.InputError(f"{store}: no such history store")
    index = mod.read_index(store)
    if not index:
        raise L.InputError(f"{store}: the history holds no runs (scripts/history append)")
    legs = {}
    for e in index:
        run = {"entry": e}
        for kind, rel in e["files"].items():
            run[kind] = L.load_result(os.path.join(store, rel))
        legs.setdefault(e["leg"], []).append(run)
    for runs in legs.values():
        runs.sort(key=lambda r: int(r["entry"].get("seq", 0)))
    return legs


def shape_label(dim, rows, threads):
    return f"dim{dim}-rows{rows}-t{threads}"


def chart(plt, path, title, ylabel, runs, series, flagged_of, log=False):
    """series: {label: [value or None per run]}; flagged_of(label, i) -> bool."""
    fig, ax = plt.subplots(figsize=(8, 4.2))
    xs = list(range(len(runs)))
    for i, r in enumerate(runs):
        if r["entry"].get("verdict") == "fail":
            ax.axvspan(i - 0.4, i + 0.4, color=FLAG, alpha=0.12, lw=0)
    top = max([v for vals in series.values() for v in vals if v is not None and math.isfinite(v)]
              or [1.0])
    for label, vals in sorted(series.items()):
        ref = label in L.REFERENCE_KERNELS
        ys = [v if v is None or math.isfinite(v) else top * 2 for v in vals]
        pts = [(x, y) for x, y in zip(xs, ys) if y is not None]
        if not pts:
            continue
        line, = ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=4,
                        ls=":" if ref else "-", color="grey" if ref else None, label=label)
        inf = [(x, top * 2) for x, v in zip(xs, vals) if v is not None and not math.isfinite(v)]
        if inf:
            ax.plot(*zip(*inf), ls="", marker="^", color=line.get_color())
        fl = [(x, y) for x, y in pts if flagged_of(label, x)]
        if fl:
            ax.plot(*zip(*fl), ls="", marker="o", ms=11, mfc="none", mec=FLAG, mew=2)
    ax.set_xticks(xs)
    ax.set_xticklabels([r["entry"]["commit"][:8] for r in runs], rotation=45, ha="right",
                       fontsize=8)
    ax.set_xlim(-0.6, len(runs) - 0.4)
    ax.set_xlabel("commit (oldest left)")
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def flagged_at(runs, kind):
    return [set(r["entry"].get("flagged", {}).get(kind, [])) for r in runs]


def leg_charts(plt, leg, runs, plots):
    made = []
    fl_speed, fl_ic, fl_acc = (flagged_at(runs, k) for k in ("speed", "icount", "accuracy"))
    # Speed: one chart per shape and thread count, one line per kernel.
    shapes = sorted({(b.dim, b.rows, b.threads) for r in runs if "speed" in r
                     for b in r["speed"].benches.values() if b.dim and b.rows})
    for dim, rows, t in shapes:
        series = {}
        for i, r in enumerate(runs):
            sp = r.get("speed")
            if sp is None:
                continue
            for b in sp.benches.values():
                if (b.dim, b.rows, b.threads) != (dim, rows, t) or b.error or not b.time_samples():
                    continue
                ns = b.median_time() * L.TIME_UNITS[b.time_unit or "ns"] / rows
                series.setdefault(b.kernel, [None] * len(runs))[i] = ns
        if not series:
            continue
        name = f"speed-{leg}-{shape_label(dim, rows, t)}.png"
        chart(plt, os.path.join(plots, name), f"{leg}: time per row, dim {dim}, {rows} rows, "
              f"{t} thread(s)", "ns per row (median)", runs, series,
              lambda k, i: f"{k}/dim:{dim}/rows:{rows}/threads:{t}" in fl_speed[i])
        made.append(("speed", name))
    # Instruction counts: one chart per shape.
    ishapes = sorted({(int(x.get("dim", 0)), int(x.get("rows", 0))) for r in runs if "icount" in r
                      for x in r["icount"].rows.values()})
    for dim, rows in ishapes:
        series = {}
        for i, r in enumerate(runs):
            ic = r.get("icount")
            if ic is None:
                continue
            for key, x in ic.rows.items():
                if (int(x.get("dim", 0)), int(x.get("rows", 0))) == (dim, rows):
                    series.setdefault(str(x.get("kernel", key.split("/")[0])),
                                      [None] * len(runs))[i] = float(x["instructions_per_element"])
        name = f"icount-{leg}-dim{dim}-rows{rows}.png"
        chart(plt, os.path.join(plots, name), f"{leg}: instructions per element, dim {dim}, "
              f"{rows} rows", "instructions / element", runs, series,
              lambda k, i: any(f.startswith(f"{k}/dim:{dim}/rows:{rows}/") for f in fl_ic[i]))
        made.append(("icount", name))
    # Accuracy: one chart per kernel, one line per distribution.
    kernels = sorted({k for r in runs if "accuracy" in r for k in r["accuracy"].kernels()})
    for k in kernels:
        series = {}
        for i, r in enumerate(runs):
            acc = r.get("accuracy")
            if acc is None:
                continue
            for key, row in acc.rows.items():
                if key[0] != k:
                    continue
                v = L.ulp_value(row["max_ulp"])
                cur = series.setdefault(key[1], [None] * len(runs))[i]
                series[key[1]][i] = v if cur is None else max(cur, v)
        name = f"accuracy-{leg}-{k}.png"
        chart(plt, os.path.join(plots, name), f"{leg}: {k}, worst max ulp over the dims",
              "max ulp (log)", runs, series,
              lambda d, i: any(f.startswith(f"{k}/{d}/") for f in fl_acc[i]), log=True)
        made.append(("accuracy", name))
    return made


def write(store, output, title, force):
    legs = load_store(store)
    plt = plt_module()
    out = os.path.abspath(output)
    if os.path.exists(out) and not force:
        raise L.InputError(f"{output}: exists (use --force to replace it)")
    parent = os.path.dirname(out)
    if not os.path.isdir(parent):
        raise L.InputError(f"{parent}: no such directory")
    def _build(tmp):
        plots = os.path.join(tmp, "plots")
        os.makedirs(plots)
        md = [f"# {title}: history", "",
              "Trend over the commits of the history store (oldest left).  Red band: the gate "
              "failed that commit; red ring: the gate flagged that kernel and shape there.", ""]
        body = [f"<h1>{html.escape(title)}: history</h1>", f"<p>{html.escape(md[2])}</p>"]
        total = 0
        for leg, runs in sorted(legs.items()):
            md += [f"## {leg}", "", "| # | commit | date | gate | flagged |", "|---|---|---|---|---|"]
            rows_html = []
            for r in runs:
                e = r["entry"]
                nflag = sum(len(v) for v in e.get("flagged", {}).values())
                md.append(f"| {e.get('seq', '')} | `{e['commit']}` | {e.get('date', '')[:19]} | "
                          f"{e.get('verdict', '?')} | {nflag} |")
                rows_html.append(f"<tr><td>{e.get('seq', '')}</td><td><code>{html.escape(e['commit'])}"
                                 f"</code></td><td>{html.escape(e.get('date', '')[:19])}</td><td>"
                                 f"{html.escape(str(e.get('verdict', '?')))}</td><td>{nflag}</td></tr>")
            body += [f"<h2>{html.escape(leg)}</h2>", "<table><tr><th>#</th><th>commit</th><th>date"
                     "</th><th>gate</th><th>flagged</th></tr>" + "".join(rows_html) + "</table>"]
            made = leg_charts(plt, leg, runs, plots)
            total += len(made)
            for kind, name in made:
                md += ["", f"![{kind} {name}](plots/{name})"]
                with open(os.path.join(plots, name), "rb") as f:
                    b64 = base64.b64encode(f.read()).decode()
                body.append(f'<p><img alt="{html.escape(name)}" src="data:image/png;base64,{b64}"></p>')
            md.append("")
        with open(os.path.join(tmp, "history.md"), "w") as f:
            f.write("\n".join(md) + "\n")
        with open(os.path.join(tmp, "history.html"), "w") as f:
            f.write("<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
                    + html.escape(title) + "</title></head><body>" + "\n".join(body)
                    + "</body></html>\n")
        return total

    total = L.build_dir(out, ".history-", _build)
    nruns = sum(len(r) for r in legs.values())
    print(f"report: {output}/history.md, history.html and {total} trend chart(s) over "
          f"{nruns} run(s) of {len(legs)} leg(s): {', '.join(sorted(legs))}")
    return 0
