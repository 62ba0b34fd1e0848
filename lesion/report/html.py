"""HTML building blocks for plots/report.html: one self-contained file, images inlined as base64 data URIs.

A reader opens the report first, often as an e-mail attachment or a CI artifact, so it must need nothing beside
it: no linked images, no scripts, no network.
"""

import base64
import html

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
.pair { display: flex; gap: 1em; }
.pair figure { flex: 1; margin: .5em 0; }
"""


def figure(png, caption):
    """A PNG (bytes) with its one-sentence caption."""
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


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


def paragraph(text, note=False):
    return f'<p class="note">{html.escape(text)}</p>' if note else f"<p>{html.escape(text)}</p>"


def page(title, intro, sections):
    """The whole document: a title, an introduction and (heading, HTML body) sections."""
    parts = [f"<h2>{html.escape(heading)}</h2>\n{body}" for heading, body in sections]
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(title)}</title>\n'
            f"<style>{CSS}</style>\n</head>\n<body>\n<h1>{html.escape(title)}</h1>\n{paragraph(intro)}\n"
            + "\n".join(parts) + "\n</body>\n</html>\n")
