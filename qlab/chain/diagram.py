"""An SVG drawing of a chain: the host, then one box per plugin with its counters.

Plain SVG (no script), so it shows in JupyterLab, on GitHub and in exported
HTML. Gates flow to the right along the upper arrows, measurements come back
along the lower ones.
"""

from __future__ import annotations

from html import escape

__all__ = ["chain_svg"]

BOX_W, BOX_H, GAP, PAD = 150, 118, 46, 12
COLORS = {"frontend": "#dbeafe", "operator": "#fef3c7", "backend": "#dcfce7", "script": "#f3f4f6", "host": "#ede9fe"}
STATUS_COLORS = {"new": "#6b7280", "running": "#2563eb", "stopped": "#374151", "failed": "#dc2626"}


def _box(x: float, title: str, subtitle: str, lines: list[tuple[str, str]], fill: str, highlight: bool, index: int | None) -> str:
    stroke = "#dc2626" if highlight else "#374151"
    attrs = "" if index is None else f' data-plugin="{index}"'
    out = [
        f'<g{attrs}><rect x="{x}" y="{PAD}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="{fill}" stroke="{stroke}" stroke-width="{2.5 if highlight else 1.2}"/>',
        f'<text x="{x + BOX_W / 2}" y="{PAD + 20}" text-anchor="middle" font-weight="bold" font-size="13">{escape(title)}</text>',
        f'<text x="{x + BOX_W / 2}" y="{PAD + 36}" text-anchor="middle" font-size="11" fill="#4b5563">{escape(subtitle)}</text>',
    ]
    for i, (label, value) in enumerate(lines):
        y = PAD + 58 + 15 * i
        out.append(f'<text x="{x + 12}" y="{y}" font-size="11.5" fill="#374151">{escape(label)}</text>')
        out.append(f'<text x="{x + BOX_W - 12}" y="{y}" font-size="11.5" text-anchor="end" font-family="monospace">{escape(value)}</text>')
    out.append("</g>")
    return "".join(out)


def _arrows(x0: float) -> str:
    y_down, y_up = PAD + BOX_H * 0.38, PAD + BOX_H * 0.62
    x1 = x0 + GAP
    return (
        f'<line x1="{x0 + 2}" y1="{y_down}" x2="{x1 - 6}" y2="{y_down}" stroke="#1f2937" stroke-width="1.5" marker-end="url(#qlab-chain-arrow)"/>'
        f'<line x1="{x1 - 2}" y1="{y_up}" x2="{x0 + 6}" y2="{y_up}" stroke="#6b7280" stroke-width="1.5" stroke-dasharray="4 3" marker-end="url(#qlab-chain-arrow)"/>'
    )


def chain_svg(simulation, selected: int | None = None) -> str:
    """The SVG of ``simulation``'s chain with every plugin's counters (``selected``: a plugin index to outline).

    >>> from qlab import Circuit
    >>> from qlab.chain import Simulation, plugins
    >>> sim = Simulation(plugins.circuit_frontend(Circuit(1).h(0)), backend=plugins.null_backend(), store=False)
    >>> svg = chain_svg(sim)
    >>> svg.startswith("<svg") and "gates" in svg and "null" in svg
    True
    """
    df = simulation.df()
    n = len(df)
    width = PAD * 2 + (n + 1) * BOX_W + n * GAP
    height = PAD * 2 + BOX_H + 22
    failure = simulation.failed_plugin
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="sans-serif" role="img">',
        '<defs><marker id="qlab-chain-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#374151"/></marker></defs>',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    queues = simulation.queues()
    host_lines = [("send queue", f"{len(queues['send']):,}"), ("recv queue", f"{len(queues['recv']):,}"), ("seed", f"{simulation.seed}"[:10])]
    mode = "processes" if simulation.process else "threads"
    parts.append(_box(PAD, "host", f"{simulation.status} · {mode}", host_lines, COLORS["host"], False, None))
    x = PAD + BOX_W
    for i, row in df.iterrows():
        parts.append(_arrows(x))
        x += GAP
        lines = [(label, f"{row[column]:,}") for label, column in
                 (("gates", "gates"), ("measurements", "measurements"), ("arbs", "arbs"), ("cycles", "cycles"))]
        highlight = (selected == i) or (failure == row["name"])
        parts.append(_box(x, row["name"], row["type"], lines, COLORS.get(row["type"], COLORS["script"]), highlight, i))
        x += BOX_W
    color = STATUS_COLORS.get(simulation.status, "#374151")
    legend = "solid arrows: gates, arbs, advance down the chain · dashed: measurements and answers back up"
    if failure:
        legend = f"failed: {failure}"
    parts.append(f'<text x="{PAD}" y="{height - 8}" font-size="11" fill="{color}">{escape(legend)}</text>')
    parts.append("</svg>")
    return "".join(parts)
