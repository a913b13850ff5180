"""The report's Plotly charts: colours, font, and figures as HTML divs.

plotly.js is embedded with the first chart only, so the report opens offline and the browser draws
Chinese with its own fonts.
"""

from __future__ import annotations

import functools

# colours in the order charts use them
PALETTE = [
    "#1f6fb2",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#9c755f",
    "#bab0ac",
    "#4e79a7",
    "#ff9da7",
]
LIFECYCLE_COLOURS = {"new": "#4e79a7", "active": "#59a14f", "at_risk": "#f28e2b", "lost": "#9d9d9d"}
FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "Segoe UI", sans-serif'


class Charts:
    """Plotly figures as HTML divs; plotly.js is embedded with the first one only."""

    def __init__(self):
        self.count = 0

    def __call__(self, fig, height: int = 360) -> str:
        import plotly.io as pio

        fig.update_layout(
            height=height,
            font={"family": FONT, "size": 13},
            margin={"l": 70, "r": 20, "t": 40 if fig.layout.title.text else 30, "b": 50},
            separators=".,",
            legend={"orientation": "h", "y": -0.2},
        )
        # room for tick labels and axis titles (a fixed margin clipped long money ticks' titles)
        fig.update_xaxes(automargin=True)
        fig.update_yaxes(automargin=True)
        self.count += 1
        spec = fig.to_dict()
        spec["layout"]["template"] = _white()
        return pio.to_html(
            spec,
            validate=False,  # validated as a figure above; the template as Plotly gives it
            full_html=False,
            include_plotlyjs=self.count == 1,
            div_id=f"chart-{self.count}",
            config={"displaylogo": False, "responsive": True, "displayModeBar": False},
        )


@functools.cache
def _white() -> dict:
    """The "plotly_white" template as a validated figure holds it. Validating it again for every
    chart (`update_layout(template=...)`) took two thirds of the time charts take."""
    import plotly.graph_objects as go

    return go.Figure(layout={"template": "plotly_white"}).to_dict()["layout"]["template"]
