"""Stage `stats`: does learning class C help or hurt class T? (lesion.stats) -> metrics/welch.csv, vs_clean.csv,
kl.csv, summary.json and significant.md."""

from lesion import contract, params
from lesion.files import save_text
from lesion.stage import run_stage
from lesion.stats.divergence import divergences
from lesion.stats.summary import significant_markdown, summarize
from lesion.stats.welch import clean_tests, welch_tests
from lesion.study import load_study

OUTPUTS = [contract.WELCH, contract.VS_CLEAN, contract.KL, contract.SUMMARY, contract.SIGNIFICANT]


def main():
    settings = params.load("stats")
    study = load_study()
    welch_table, vs_clean = welch_tests(study, settings), clean_tests(study, settings)
    kl_table = divergences(study, study.mean_prob())
    summary = summarize(study, welch_table, kl_table, vs_clean, settings["alpha"])
    contract.write_table(contract.WELCH, welch_table)
    contract.write_table(contract.VS_CLEAN, vs_clean)
    contract.write_table(contract.KL, kl_table)
    contract.write_metrics(contract.SUMMARY, summary)
    save_text(contract.SIGNIFICANT, significant_markdown(welch_table, settings["alpha"]))
    print(f"{summary['n_significant_fdr']} of {summary['n_tests']} tests significant at FDR {settings['alpha']:g}; "
          f"wrote {', '.join(map(str, OUTPUTS))}")


if __name__ == "__main__":
    run_stage(main, outputs=OUTPUTS)
