"""plots/report.html: the summary, the study's power, the significant effects, every figure (linked from
plots/figures), a link to the visualize stage's gallery and the provenance."""

import json

import numpy as np

from lesion import contract
from lesion.files import save_text
from lesion.report import html
from lesion.report.figures import ANNOTATED_CLASSES, CAPTIONS
from lesion.stats.power import power_sentences
from lesion.stats.significance import significant_rows


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


def lesion_section(effects, summary, alpha, names, power, n_classes):
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
    if "specific_heatmap.png" in names:
        heatmaps = figures_section(["specific_heatmap.png", "t_heatmap.png"])
        figures = ('<div class="pair">' + heatmaps + "</div>" if n_classes <= ANNOTATED_CLASSES else heatmaps)
        figures += figures_section(["forest.png"])  # heatmaps of many classes need the page's width, one each
    else:
        figures = (html.paragraph("The design identifies no specific effect: a swapped pair shows only the sum of "
                                  "its two classes' effects, and one class's effect comes apart only where the pairs "
                                  "close a cycle of odd length (a/b, b/c, a/c: corrupt.pairs: all has many, a small "
                                  "sample of a 100-class dataset's pairs rarely one). There is no heatmap or forest "
                                  "plot of them; the Welch t heatmap follows.", note=True)
                   + figures_section(["t_heatmap.png"]))
    return (html.paragraph(how_to_read(n_classes)) + html.paragraph(intro)
            + results_table(significant, columns, power, "specific_bits", contract.LESION_EFFECTS) + figures)


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


def figure_source(name):
    """A figure's path relative to the report (plots/report.html beside plots/figures)."""
    return (contract.FIGURES / name).relative_to(contract.REPORT.parent).as_posix()


def figures_section(names):
    """The named figures of plots/figures, each with its caption."""
    return "".join(html.figure(figure_source(name), CAPTIONS[name]) for name in names)


def over_training_section(by_epoch, names, alpha):
    """How the effects developed: the epochs evaluated, the trajectories and the per-epoch heatmaps."""
    if "effect_trajectories.png" not in names:
        return html.paragraph("No effect over training: no epoch was evaluated during training (train.eval_every: "
                              "0) or the design identifies no specific effect.", note=True)
    epochs = sorted(set(by_epoch.epoch))
    counts = [int((by_epoch[by_epoch.epoch == epoch].specific_p_fdr < alpha).sum()) for epoch in epochs]
    intro = (f"The lesion model fitted to every model's test results after each of {len(epochs)} evaluated epochs "
             f"({contract.EFFECTS_BY_EPOCH}). Specific effects significant at a false discovery rate of {alpha:g}, "
             "per epoch: " + ", ".join(f"epoch {e}: {n}" for e, n in zip(epochs, counts)) + ".")
    return html.paragraph(intro) + figures_section(["effect_trajectories.png", "epoch_heatmaps.png"])


def weights_section(decoder):
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
            + figures_section(["weight_embedding.png", "weight_confusion.png"]))


def vis_section():
    """A link to the visualize stage's own page; the plots stage never reads plots/vis."""
    page = contract.VIS_INDEX.relative_to(contract.REPORT.parent).as_posix()
    return ("<p>What the networks see (Happy and Sad maps, caricatures, DeepDream, inversions, filters and "
            f"confusion examples) is on its own page, {html.link(page, page)}; <code>dvc repro visualize</code> "
            "builds it.</p>")


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


def write_report(welch, vs_clean, lesion_effects, summary, evaluation, names, power, record, by_epoch, decoder,
                 classes):
    """The report: `names` the figures written to plots/figures (no training.png without curves, no specific
    figures when no specific effect is identified), `power` lesion.stats.power.study_power, `record` the
    provenance, `by_epoch` metrics/effects_by_epoch.csv, `decoder` metrics/weight_decoding.json, `classes` the
    dataset's."""
    alpha = summary["alpha"]
    training = (figures_section(["training.png"]) if "training.png" in names else
                html.paragraph(f"No training curves: {contract.CURVE_TABLES} holds no dvclive TSVs.", note=True))
    sections = [
        ("Summary", summary_section(summary, evaluation)),
        ("Power", power_section(power)),
        ("Lesion effects", lesion_section(lesion_effects, summary, alpha, names, power, len(classes))),
        ("The paper's Welch contrast", significance_section(welch, alpha, power)),
        ("Divergences", figures_section(["kl_heatmap.png"])),
        ("Clean baseline", clean_section(vs_clean) + figures_section(["loglik.png", "accuracy.png"])),
        ("Confusion", figures_section(["confusion.png"])),
        ("Training", training),
        ("Effects over training", over_training_section(by_epoch, names, alpha)),
        ("Reading the lesion from the weights", weights_section(decoder)),
        ("Architecture", figures_section(["architecture.png"])),
        ("What the networks see", vis_section()),
        ("Provenance", provenance_section(record)),
    ]
    dataset = record["data"].get("dataset") or "image"
    intro = (f"Copies of one network were trained on the {dataset} dataset ({len(classes)} classes) with part of the "
             "labels of one pair of classes swapped, and clean copies as a baseline. Each test asks whether learning "
             "one class (the confused class) changes how well the network does on another (the target).")
    _, warning = power_sentences(power)
    top = html.paragraph(warning, warning=True) if warning else ""
    save_text(contract.REPORT, html.page(f"Lesion study of {dataset} classifiers", intro, sections, top))
