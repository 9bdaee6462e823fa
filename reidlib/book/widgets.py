"""Interactive explorers that also render without a kernel (chapters 2-10).

Every explorer in the book is made by :func:`explorer`. It shows two things:

* a **static form**: the drawing function evaluated at a few chosen settings, laid out
  as a grid of PNG images inside ``<div class="reid-explorer-static">``. It is plain
  HTML, so the online book shows it with no Python behind it;
* a **live form**: ipywidgets controls that redraw the figure, for Jupyter and Colab.
"""

from __future__ import annotations

import base64
import html
import io
import sys
from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
from IPython.display import HTML, display

STATIC_CLASS = "reid-explorer-static"


def figure_to_png(fig) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def static_grid_html(draw: Callable, settings: Sequence[Mapping], title: str = "", columns: int = 3) -> str:
    """HTML of ``draw(**s)`` for each setting ``s``, captioned with the setting."""
    if not settings:
        raise ValueError("static_grid_html needs at least one setting to draw; got an empty list.")
    cells = []
    for s in settings:
        png = base64.b64encode(figure_to_png(draw(**s))).decode()
        caption = html.escape(", ".join(f"{k} = {v}" for k, v in s.items()))
        cells.append(
            f'<figure style="margin:0"><img src="data:image/png;base64,{png}" alt="{caption}" '
            'style="max-width:100%">'
            f'<figcaption style="text-align:center;font-size:90%">{caption}</figcaption></figure>'
        )
    head = (
        f"<p><strong>{html.escape(title)}</strong> (static view; run the notebook for the live explorer)</p>"
        if title
        else ""
    )
    return (
        f'<div class="{STATIC_CLASS}">{head}<div style="display:grid;gap:8px;'
        f'grid-template-columns:repeat({min(columns, len(cells))},1fr)">{"".join(cells)}</div></div>'
    )


def explorer(
    draw: Callable,
    static: Sequence[Mapping],
    controls: Mapping | None = None,
    title: str = "",
    columns: int = 3,
    live: bool = True,
):
    """Show an explorer: its static grid, then (when ``live``) its ipywidgets controls.

    Args:
        draw: ``draw(**params) -> matplotlib.figure.Figure``.
        static: parameter settings drawn for the static form, e.g. ``[{"window": 3}, {"window": 9}]``.
        controls: ``ipywidgets.interactive`` abbreviations or widgets for the live form,
            e.g. ``{"window": (3, 15, 2)}``; defaults to the keys of ``static[0]``
            with the values seen in ``static``.
        title: a short title shown above the static grid.
    Returns:
        The ``ipywidgets.interactive`` object (or None when ``live`` is False).
    """
    display(HTML(static_grid_html(draw, static, title, columns)))
    if not live:
        return None
    import ipywidgets as widgets

    if controls is None:
        controls = {k: sorted({s[k] for s in static}) for k in static[0]}

    def _show(**params):
        fig = draw(**params)
        display(fig)
        plt.close(fig)

    ui = widgets.interactive(_show, **controls)
    if "google.colab" in sys.modules:  # Colab draws ipywidgets 8 through its custom widget manager
        from google.colab import output

        output.enable_custom_widget_manager()
    display(ui)
    return ui
