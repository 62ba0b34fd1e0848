"""HTML building blocks for the pages: plots/report.html, one self-contained file (its images embedded as data
URIs, its script inline, nothing from the network), and the visualize stage's plots/vis/index.html, which links the
PNGs beside it.
"""

import html
import re

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #446; padding-bottom: .3em; }
h2 { margin-top: 2em; color: #335; border-bottom: 1px solid #ccd; }
table { border-collapse: collapse; margin: 1em 0; font-size: .92em; }
th, td { border: 1px solid #ccd; padding: .25em .7em; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #eef; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { color: #555; font-size: .92em; margin-top: .3em; }
.note { background: #fff8e0; border-left: 4px solid #e0b000; padding: .5em 1em; }
.warning { background: #fde8e8; border-left: 4px solid #c00; padding: .5em 1em; }
nav ol { columns: 2; }
.pair { display: flex; gap: 1em; }
.pair figure { flex: 1; margin: .5em 0; }
.controls { display: flex; flex-wrap: wrap; gap: .6em 1.2em; align-items: center; margin: .6em 0; }
.explorer { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
table.matrix { border-collapse: collapse; font-size: .8em; }
table.matrix td { min-width: 2.8em; height: 2.2em; padding: 0 .15em; text-align: center; cursor: pointer;
                  font-variant-numeric: tabular-nums; }
table.matrix td:hover, table.matrix td.pinned { outline: 3px solid #e0a000; outline-offset: -3px; }
table.matrix th.column-name { height: 7em; vertical-align: bottom; padding: .2em; }
table.matrix th.column-name span { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; }
table.matrix.dense td { min-width: 0; width: 5px; height: 6px; padding: 0; }
table.matrix.dense th { font-size: 6px; font-weight: normal; padding: 0 .2em; line-height: 6px; }
table.matrix.dense th.column-name { height: 9em; padding: 0; }
#cell-panel { flex: 1; min-width: 300px; min-height: 12em; position: sticky; top: .5em; }
.thumbs { display: flex; flex-wrap: wrap; gap: .4em; margin: .3em 0 1em; }
figure.top-image { margin: 0; text-align: center; }
figure.top-image figcaption { margin: 0; font-variant-numeric: tabular-nums; }
.thumb { display: inline-block; image-rendering: pixelated; border: 1px solid #ccd; }
.cell-heading { font-weight: 600; }
.caption { color: #555; font-size: .92em; }
tr.swapped td { background: #fff4d6; }
td.diff { white-space: nowrap; }
.bar { display: inline-block; height: .7em; margin-right: .4em; vertical-align: middle; }
.bar.worse { background: #c44; } .bar.better { background: #4a4; }
#effects-table th { cursor: pointer; user-select: none; }
#effects-table { font-size: .85em; }
#effects-table td, #effects-table th { white-space: nowrap; padding: .2em .45em; }
.scroll { overflow-x: auto; }
#effects-table tr.significant td { background: #eef8ee; }
"""


def figure(source, caption, anchor=None):
    """An image at `source` (a path relative to the page, or a data URI) with its caption; `anchor`: its id."""
    identity = f' id="{html.escape(anchor)}"' if anchor else ""
    return (f'<figure{identity}><img src="{html.escape(source)}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def subheading(text):
    return f"<h3>{html.escape(text)}</h3>"


def link(href, text):
    return f'<a href="{html.escape(href)}">{html.escape(text)}</a>'


def anchor(heading):
    """A section's id: its heading in lower case, words joined by '-'."""
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")


def table(rows, columns):
    """An HTML table of dict rows; floats shown with 4 significant digits and right-aligned."""
    head = "".join(f"<th>{html.escape(str(column))}</th>" for column in columns)
    body = []
    for row in rows:
        cells = []
        for column in columns:
            value = row[column]
            if isinstance(value, float):
                cells.append(f'<td class="number">{value:.4g}</td>')
            else:
                cells.append(f"<td>{html.escape('' if value is None else str(value))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def paragraph(text, note=False, warning=False):
    """A paragraph of plain text; `note`: a highlighted remark; `warning`: a red one that must not be missed."""
    if warning:
        return f'<p class="warning"><strong>Warning:</strong> {html.escape(text)}</p>'
    return f'<p class="note">{html.escape(text)}</p>' if note else f"<p>{html.escape(text)}</p>"


def contents(sections):
    """The table of contents: a link to every section."""
    items = "".join(f'<li><a href="#{anchor(heading)}">{html.escape(heading)}</a></li>' for heading, _ in sections)
    return f'<nav><h2>Contents</h2><ol>{items}</ol></nav>'


def page(title, intro, sections, top="", style="", script=""):
    """The whole document: a title, an introduction, `top` (HTML shown before the contents, e.g. a warning), the
    table of contents and the (heading, HTML body) sections; `style` more CSS, `script` HTML at the body's end."""
    parts = [f'<h2 id="{anchor(heading)}">{html.escape(heading)}</h2>\n{body}' for heading, body in sections]
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(title)}</title>\n'
            f"<style>{CSS}{style}</style>\n</head>\n<body>\n<h1>{html.escape(title)}</h1>\n{paragraph(intro)}\n{top}"
            f"{contents(sections)}\n" + "\n".join(parts) + f"\n{script}</body>\n</html>\n")
