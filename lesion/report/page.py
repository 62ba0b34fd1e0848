"""plots/report.html, one self-contained file: the summary, the study's power, the significant effects, the
interactive pair view and table of every effect (lesion.report.explorer), every figure of plots/figures and the
visualize stage's images (embedded once each), and the provenance."""

import json
from pathlib import Path

import numpy as np

from lesion import contract
from lesion.files import save_text
from lesion.report import html
from lesion.report.explorer import data_uri, script_json
from lesion.report.figures import ANNOTATED_CLASSES, CAPTIONS
from lesion.stats.power import power_sentences
from lesion.stats.significance import significant_rows

SCRIPT = Path(__file__).with_name("explorer.js")


def summary_section(summary, evaluation):
    """eval.json's metrics, then summary.json's: two stages' metrics, no name in both."""
    rows = [{"metric": key, "value": value} for metrics in (evaluation, summary) for key, value in metrics.items()]
    return html.table(rows, ["metric", "value"])


TABLE_ROWS = 25  # a table of the report shows at most this many rows, the strongest


def how_to_read(n_classes):
    """The two families of effects and how to read them together. A strong effect of X in T's row moves each other
    Welch contrast of the row by 1/(n - 2) of its size when every pair is lesioned equally often: it is in 1 of the
    n - 2 pairs of sample A and in n - 3 of the (n - 2)(n - 3)/2 pairs of sample B."""
    return ("Two families answer two questions. The specific effect (additive lesion model) is what losing the "
            "confused class costs the target beyond a typical lesion of the same row, in bits of the target's test "
            "log-likelihood, with a 95% interval: cite it for 'learning C helps T'. Its companion, the effect "
            "against a network that learned every class, also holds the cost every lesion shares. The paper's "
            "Welch t compares models that lost C with models that lost some other pair: a contrast, so one strong "
            "effect in a row moves every other test of that row the opposite way (by about 1/"
            f"{max(1, n_classes - 2)} of its size when all pairs of the {n_classes} classes are lesioned); read its "
            "heatmap beside the specific one, and trust a cell only where both agree.")


def capped_table(rows, columns, strength, source):
    """`rows` as a table of at most TABLE_ROWS, in their order: those largest in |strength| (a column), with a note of
    how many were left out and where every one of them is."""
    if len(rows) <= TABLE_ROWS:
        return html.table(rows.to_dict("records"), columns)
    kept = np.sort(np.argsort(-rows[strength].abs().to_numpy(), kind="stable")[:TABLE_ROWS])
    note = html.paragraph(f"The {TABLE_ROWS} rows largest in |{strength}| of {len(rows)}; the {len(rows) - TABLE_ROWS} "
                          f"others are left out here, all are in {source}.", note=True)
    return html.table(rows.iloc[kept].to_dict("records"), columns) + note


def results_table(rows, columns, power, strength, source):
    """The significant rows as a table (capped_table) or, when there are none, a note that says what an empty list
    means here."""
    if len(rows):
        return capped_table(rows, columns, strength, source)
    meaning = ("with this study's power (see Power) that means too few models, not no effect" if power["smoke"]
               else "see Power for the smallest effect this study could detect")
    return html.paragraph(f"No effect is significant: {meaning}.", note=True)


def lesion_section(effects, summary, alpha, figures, power, n_classes):
    significant = effects[effects.specific_p_fdr < alpha].sort_values("specific_bits", ascending=False,
                                                                       kind="stable")
    tested = int(effects.specific_p.notna().sum())
    fit = summary["lack_of_fit_p"]
    fit = ("this design leaves no degrees of freedom to test its lack of fit" if fit is None else
           f"pooled lack-of-fit p = {fit:.3g}")
    intro = (f"{len(significant)} of {tested} specific effects are significant at a false discovery rate of "
             f"{alpha:g} (Benjamini-Hochberg), strongest help first; inference {summary['inference']} ({fit}).")
    columns = ["target", "confused", "specific_bits", "specific_lo", "specific_hi", "specific_p_fdr", "effect_bits",
               "effect_p_fdr", "contrast_bits"]
    if "specific_heatmap.png" in figures:
        heatmaps = figures_section(figures, ["specific_heatmap.png", "t_heatmap.png"])
        shown = ('<div class="pair">' + heatmaps + "</div>" if n_classes <= ANNOTATED_CLASSES else heatmaps)
        shown += figures_section(figures, ["forest.png"])  # heatmaps of many classes need the page's width, one each
    else:
        shown = (html.paragraph("The design identifies no specific effect: a swapped pair shows only the sum of "
                                "its two classes' effects, and one class's effect comes apart only where the pairs "
                                "close a cycle of odd length (a/b, b/c, a/c: corrupt.pairs: all has many, a small "
                                "sample of a 100-class dataset's pairs rarely one). There is no heatmap or forest "
                                "plot of them; the Welch t heatmap follows.", note=True)
                 + figures_section(figures, ["t_heatmap.png"]))
    return (html.paragraph(how_to_read(n_classes)) + html.paragraph(intro)
            + results_table(significant, columns, power, "specific_bits", contract.LESION_EFFECTS) + shown)


def significance_section(welch, alpha, power):
    significant = significant_rows(welch, alpha)
    intro = (f"The paper's contrast: {len(significant)} of {int(welch.p.notna().sum())} Welch tests are significant "
             f"at a false discovery rate of {alpha:g} (Benjamini-Hochberg), strongest help first. t > 0: learning "
             "the confused class helps the target relative to the row's other lesions; g is Hedges' g with its "
             "bootstrap 95% interval.")
    columns = ["target", "confused", "t", "df", "p", "p_fdr", "p_holm", "g", "g_lo", "g_hi"]
    return html.paragraph(intro) + results_table(significant, columns, power, "t", contract.WELCH)


def power_section(power):
    statement, warning = power_sentences(power)
    return html.paragraph(statement) + (html.paragraph(warning, warning=True) if warning else "")


def clean_section(vs_clean):
    intro = ("Each class's log-likelihood in clean models (mean_b) against swap models whose pair does not contain "
             "it (mean_a); t > 0: losing some other pair costs the class.")
    columns = ["target", "t", "p", "p_fdr", "g", "mean_a", "mean_b", "n_a", "n_b"]
    return html.paragraph(intro) + capped_table(vs_clean, columns, "t", contract.VS_CLEAN)


def figures_section(figures, names):
    """The named figures of `figures` (plots/figures' PNGs by name), each embedded with its caption and the anchor
    `figure-<name>` the effects table links to; every section shows its own figures, so each is in the page once."""
    return "".join(html.figure(data_uri(figures[name]), CAPTIONS[name], f"figure-{name}") for name in names)


def over_training_section(by_epoch, figures, alpha):
    """How the effects developed: the epochs evaluated, the trajectories and the per-epoch heatmaps."""
    if "effect_trajectories.png" not in figures:
        return html.paragraph("No effect over training: no epoch was evaluated during training (train.eval_every: "
                              "0) or the design identifies no specific effect.", note=True)
    epochs = sorted(set(by_epoch.epoch))
    counts = [int((by_epoch[by_epoch.epoch == epoch].specific_p_fdr < alpha).sum()) for epoch in epochs]
    intro = (f"The lesion model fitted to every model's test results after each of {len(epochs)} evaluated epochs "
             f"({contract.EFFECTS_BY_EPOCH}). Specific effects significant at a false discovery rate of {alpha:g}, "
             "per epoch: " + ", ".join(f"epoch {e}: {n}" for e, n in zip(epochs, counts)) + ".")
    return html.paragraph(intro) + figures_section(figures, ["effect_trajectories.png", "epoch_heatmaps.png"])


def weights_section(decoder, figures):
    """metrics/weight_decoding.json: each feature set's decoder against chance and the shuffles, and the figures."""
    readable = decoder["readable_from"]
    verdict = (f"The lesion is readable from {readable} on: that layer's decoder and every later layer's beat chance "
               "and every shuffle." if readable != "none" else
               "No unbroken run of layers up to the output reads the lesion better than chance and every shuffle.")
    intro = (f"Which pair did a model lose? A logistic-regression decoder per feature set, {decoder['folds']}-fold "
             f"cross-validated over {decoder['n_models']} swap models of {decoder['n_pairs']} pairs (chance "
             f"{decoder['chance']:.3f}), each against {decoder['permutations']} shuffles of the pairs "
             f"({contract.WEIGHT_DECODING}). " + verdict)
    rows = [{"feature set": name, **result} for name, result in decoder["feature_sets"].items()]
    columns = ["feature set", "n_features", "accuracy", "permutation_mean", "permutation_max", "p"]
    return (html.paragraph(intro) + html.table(rows, columns)
            + figures_section(figures, ["weight_embedding.png", "weight_confusion.png"]))


def vis_section(gallery):
    """The visualize stage's images of every shown model (`gallery`: its entries of no one model, each with its
    PNG); the images of one model are in the pair view."""
    intro = html.paragraph("The visualize stage's images of every model it shows (the clean model and the models of "
                           "visualize.pairs, side by side); each model's own caricatures and confusion grid are in "
                           "the pair view. The same images, and the stage's own page, are in plots/vis.")
    return intro + "".join(html.figure(data_uri(entry["png"]), f"{entry['heading']}. {entry['caption']}")
                           for entry in gallery)


PAIRS_INTRO = (
    "Pick the clean baseline or a swapped pair. The table compares each class's test accuracy and log-likelihood in "
    "the pair's models with the clean models'. The matrix is one model of the pair (the trial the visualize stage "
    "draws): rows are true classes, columns predicted, each cell the number of test images there; hover over a "
    "cell to see its most confident images with the probability the model gives the predicted class, click to "
    "keep them. 'Pair minus clean' shows the pair's mean counts minus the clean models' instead, and a cell then "
    "shows the pair's model's images beside the clean model's.")


def pairs_section():
    """The pair view's frame; explorer.js fills it from the page's data."""
    return (html.paragraph(PAIRS_INTRO) +
            '<div class="controls"><label>Condition <select id="pair-select"></select></label>'
            '<label><input type="radio" name="mode" id="mode-model" checked> this model\'s counts</label>'
            '<label><input type="radio" name="mode" id="mode-contrast"> pair minus clean (mean counts)</label></div>'
            '<div id="pair-classes"></div><div class="explorer"><div id="pair-matrix"></div>'
            '<div id="cell-panel"></div></div><div id="pair-pictures"></div>')


def effects_section(alpha):
    """The table of every effect; explorer.js fills and sorts it."""
    intro = html.paragraph(
        "Every effect of the statistics in one table: the lesion model's specific effect, its effect against clean "
        "models and its contrast, the paper's Welch contrast (estimate: Hedges' g) and the clean-baseline test. "
        f"Significant: FDR-adjusted p below {alpha:g}. Filter by family, target or confused class; click a heading "
        "to sort; the last column links the figure that shows the effect.")
    controls = ('<div class="controls"><select id="filter-family"></select><select id="filter-target"></select>'
                '<select id="filter-confused"></select><label><input type="checkbox" id="filter-significant"> '
                'significant only</label></div><p id="effects-count" class="caption"></p>')
    return (intro + controls + '<div class="scroll"><table id="effects-table"><thead><tr></tr></thead><tbody>'
            '</tbody></table></div>')


def explorer_script(document, sheet):
    """The page's data (JSON), the sprite sheet (CSS, embedded once) and explorer.js."""
    sprite = document["sprite"]
    rows = -(-sprite["count"] // sprite["columns"])
    (pitch_y, pitch_x), scale = sprite["pitch"], sprite["scale"]
    style = (f".thumb {{ background-image: url({sheet}); background-size: {scale * sprite['columns'] * pitch_x}px "
             f"{scale * rows * pitch_y}px; width: {scale * sprite['width']}px; height: {scale * sprite['height']}px; "
             "background-repeat: no-repeat; }" if sheet else "")
    script = (f'<script type="application/json" id="explorer-data">{script_json(document)}</script>\n'
              f"<script>\n{SCRIPT.read_text()}</script>\n")
    return style, script


def shown(value):
    """A provenance value as text: strings as they are, everything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def provenance_section(record):
    """metrics/provenance.json as tables: data, training, code, versions, then every params.yaml entry."""
    training = record["training"]
    training_rows = ([{"field": "training", "value": training}] if isinstance(training, str) else
                     [{"field": key, "value": shown(value)} for key, value in training.items()])
    code = record["code"]
    changes = code["uncommitted_changes"]
    code_rows = [{"field": "commit", "value": code["commit"]},
                 {"field": "commit date", "value": shown(code["commit_date"]) if code["commit_date"] else "none"},
                 {"field": "uncommitted changes (outputs excepted)",
                  "value": "none" if changes == [] else "unknown" if changes is None else ", ".join(changes)}]
    params = [{"param": f"{section}.{key}", "value": shown(value)}
              for section, values in record["params"].items() for key, value in (values or {}).items()]
    blocks = [
        ("Data", [{"field": key, "value": shown(value)} for key, value in record["data"].items()], ["field", "value"]),
        ("Training (metrics/training/run.json)", training_rows, ["field", "value"]),
        ("Code", code_rows, ["field", "value"]),
        ("Versions", [{"package": key, "version": value} for key, value in record["versions"].items()],
         ["package", "version"]),
        ("Params (params.yaml)", params, ["param", "value"]),
    ]
    intro = html.paragraph(f"What produced these results, also in {contract.PROVENANCE}. The date is the commit's, "
                           "not the time the stage ran, so equal inputs give an equal report.")
    return intro + "".join(html.subheading(title) + html.table(rows, columns)
                           for title, rows, columns in blocks)


def write_report(welch, vs_clean, lesion_effects, summary, evaluation, figures, power, record, by_epoch, decoder,
                 classes, explorer, gallery):
    """The report: `figures` the PNGs of plots/figures by name (no training.png without curves, no specific
    figures when no specific effect is identified), `power` lesion.stats.power.study_power, `record` the
    provenance, `by_epoch` metrics/effects_by_epoch.csv, `decoder` metrics/weight_decoding.json, `classes` the
    dataset's, `explorer` (document, sprite sheet) of lesion.report.explorer.explorer_data, `gallery` the
    visualize stage's entries of every model. Returns the page's size in bytes."""
    alpha = summary["alpha"]
    training = (figures_section(figures, ["training.png"]) if "training.png" in figures else
                html.paragraph(f"No training curves: {contract.CURVE_TABLES} holds no dvclive TSVs.", note=True))
    sections = [
        ("Summary", summary_section(summary, evaluation)),
        ("Power", power_section(power)),
        ("Lesion effects", lesion_section(lesion_effects, summary, alpha, figures, power, len(classes))),
        ("The paper's Welch contrast", significance_section(welch, alpha, power)),
        ("Every effect", effects_section(alpha)),
        ("Pairs", pairs_section()),
        ("Divergences", figures_section(figures, ["kl_heatmap.png"])),
        ("Clean baseline", clean_section(vs_clean) + figures_section(figures, ["loglik.png", "accuracy.png"])),
        ("Confusion", figures_section(figures, ["confusion.png"])),
        ("Training", training),
        ("Effects over training", over_training_section(by_epoch, figures, alpha)),
        ("Reading the lesion from the weights", weights_section(decoder, figures)),
        ("Architecture", figures_section(figures, ["architecture.png"])),
        ("What the networks see", vis_section(gallery)),
        ("Provenance", provenance_section(record)),
    ]
    dataset = record["data"].get("dataset") or "image"
    intro = (f"Copies of one network were trained on the {dataset} dataset ({len(classes)} classes) with part of the "
             "labels of one pair of classes swapped, and clean copies as a baseline. Each test asks whether learning "
             "one class (the confused class) changes how well the network does on another (the target).")
    _, warning = power_sentences(power)
    top = html.paragraph(warning, warning=True) if warning else ""
    style, script = explorer_script(*explorer)
    text = html.page(f"Lesion study of {dataset} classifiers", intro, sections, top, style, script)
    save_text(contract.REPORT, text)
    return len(text.encode())
