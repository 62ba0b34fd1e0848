"""HTML building blocks for plots/report.html: one page beside its figures, which it links by relative path.

The page embeds no image (each run's PNGs would be stored twice, in plots/figures and inside the page): it
references `figures/<name>.png` next to it, so plots/ is what to copy or attach. No scripts, no network.
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
"""


def figure(source, caption):
    """An image at `source` (a path relative to the page) with its caption."""
    return (f'<figure><img src="{html.escape(source)}" alt="{html.escape(caption)}">'
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


def page(title, intro, sections, top=""):
    """The whole document: a title, an introduction, `top` (HTML shown before the contents, e.g. a warning), the
    table of contents and the (heading, HTML body) sections."""
    parts = [f'<h2 id="{anchor(heading)}">{html.escape(heading)}</h2>\n{body}' for heading, body in sections]
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(title)}</title>\n'
            f"<style>{CSS}</style>\n</head>\n<body>\n<h1>{html.escape(title)}</h1>\n{paragraph(intro)}\n{top}"
            f"{contents(sections)}\n" + "\n".join(parts) + "\n</body>\n</html>\n")
