"""The library's error types. Library code raises them with a message a user can act on; `lesion.stage` turns
them into one `error:` line. Anything else is a bug and keeps its traceback."""


def one_line(error):
    """A foreign exception's message on one line (its type's name when it has none), to quote in ours."""
    return " ".join(str(error).split()) or type(error).__name__


class LesionError(Exception):
    """A problem the user can fix: bad params, a missing or malformed input, a diverged training run."""


class ParamsError(LesionError):
    """params.yaml is malformed, or a key is missing or holds a value of the wrong kind."""


class UsageError(LesionError):
    """A command-line argument a stage does not take (its knobs are params)."""


class InputError(LesionError):
    """An input artifact is missing, unreadable or inconsistent with the others."""


class DamagedPackError(InputError):
    """A trained pack file cannot be read completely, or its contents do not match their stored checksum."""

    def __init__(self, path, reason):
        super().__init__(f"{path} is damaged ({reason}): rerun dvc repro train, which trains it again")
        self.path, self.reason = path, reason


class DownloadError(LesionError):
    """The dataset archive cannot be fetched, read or verified."""


class TrainingError(LesionError):
    """Training cannot go on (for example a loss that became NaN)."""


class DeviceError(LesionError):
    """Training would not run where train.device asks: a GPU on the machine that the backend cannot use, say."""
