"""Stage `epochs`: effects over training. The lesion model fitted after each epoch the train stage evaluated
(train.eval_every; lesion.stats.by_epoch) -> metrics/effects_by_epoch.csv."""

from lesion import contract, params
from lesion.stage import run_stage
from lesion.stats.by_epoch import effects_by_epoch


def main():
    settings = params.load("stats")
    table = effects_by_epoch(contract.read_manifest(), contract.read_per_class_epochs(), settings)
    contract.write_table(contract.EFFECTS_BY_EPOCH, table)
    epochs = sorted(set(table.epoch))
    if not epochs:
        print("note: no epoch was evaluated during training (train.eval_every: 0): "
              f"{contract.EFFECTS_BY_EPOCH} holds no rows")
    else:
        last = table[table.epoch == epochs[-1]]
        print(f"lesion model fitted after {len(epochs)} epochs ({', '.join(map(str, epochs))}); at the last, "
              f"{int((last.specific_p_fdr < settings['alpha']).sum())} specific effects significant at FDR "
              f"{settings['alpha']:g}; wrote {contract.EFFECTS_BY_EPOCH}")


if __name__ == "__main__":
    run_stage(main, outputs=[contract.EFFECTS_BY_EPOCH])
