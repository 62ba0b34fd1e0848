"""Stage `stats`: does learning class C help or hurt class T? (lesion.stats) -> the paper's Welch contrast
(metrics/welch.csv, vs_clean.csv, kl.csv), the additive lesion model (metrics/lesion_*.csv), summary.json and
significant.md."""

from lesion import contract, params
from lesion.files import save_text
from lesion.stage import run_stage
from lesion.stats.divergence import divergences
from lesion.stats.lesion_model import lesion_kl, lesion_model
from lesion.stats.power import study_power, trials_per_pair
from lesion.stats.summary import lesion_summary, significant_markdown, summarize
from lesion.stats.welch import clean_tests, welch_tests
from lesion.study import load_study

TABLES = [contract.WELCH, contract.VS_CLEAN, contract.KL, contract.LESION_EFFECTS, contract.LESION_ROWS,
          contract.LESION_INTERACTIONS, contract.LESION_KL]
OUTPUTS = TABLES + [contract.SUMMARY, contract.SIGNIFICANT]


def main():
    settings = params.load("stats")
    study = load_study()
    mean_prob = study.mean_prob()
    welch_table, vs_clean = welch_tests(study, settings), clean_tests(study, settings)
    kl_table = divergences(study, mean_prob)
    effects, rows, interactions, pooled = lesion_model(study, settings)
    tables = [welch_table, vs_clean, kl_table, effects, rows, interactions, lesion_kl(study, mean_prob, settings)]
    if not study.clean.any():
        print("note: no clean models: the lesion model reports specific effects and the Welch contrast only; "
              "effect_bits (against a network that learned every class) needs corrupt.clean_trials")
    summary = summarize(study, welch_table, kl_table, settings["alpha"])
    summary.update(lesion_summary(effects, interactions, pooled, settings["alpha"]))
    for path, table in zip(TABLES, tables):
        contract.write_table(path, table)
    contract.write_metrics(contract.SUMMARY, summary)
    power = study_power(welch_table, effects, study.clean.sum(), trials_per_pair(study.manifest), settings["alpha"])
    save_text(contract.SIGNIFICANT, significant_markdown(welch_table, effects, settings["alpha"], power))
    print(f"{summary['n_specific_fdr']} specific lesion effects and {summary['n_significant_fdr']} Welch contrasts "
          f"significant at FDR {settings['alpha']:g} (inference: {summary['inference']}); wrote "
          f"{', '.join(map(str, OUTPUTS))}")


if __name__ == "__main__":
    run_stage(main, outputs=OUTPUTS)
