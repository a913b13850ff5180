"""The project's exceptions, in one place.

Each `SegmlError` is caused by the user's input or settings, and its message says what to do, so
the command line shows the message and no traceback. Anything else is a bug and keeps its
traceback.
"""


class SegmlError(Exception):
    """Input or settings the pipeline cannot honour; the message names the cause and the fix."""


class ConfigError(SegmlError, ValueError):
    """The configuration is invalid or out of date."""


class ScheduleMismatchError(ConfigError):
    """The features stage's record (its cutoff schedule and churn window) was made with other
    settings than the config has now: a later stage would work on stale outputs."""


class InputError(SegmlError, ValueError):
    """An input file is missing, unreadable or not what conf/data says it is."""


class ContractError(SegmlError, ValueError):
    """The input has no usable rows, or its rows break the data contract."""


class ShortHistoryError(SegmlError, ValueError):
    """The input covers less history than the features need."""


class InsufficientDataError(SegmlError, ValueError):
    """Too little history, too few customers or churners to train or measure a model."""


class FeatureMismatchError(SegmlError, ValueError):
    """The data does not have the columns the model was trained on."""


class ExportError(SegmlError, ValueError):
    """Export settings cannot be honoured."""


class EngineError(SegmlError, RuntimeError):
    """The Dask cluster could not run the work."""


class ProjectBusyError(SegmlError, RuntimeError):
    """Another segml command holds the project's run lock."""


class InputWarning(UserWarning):
    """Something in the input or settings the run goes on without (e.g. a mapped optional column
    missing from the file); the command line shows it as one "warning:" line."""


class PortableModelError(ValueError):
    """A model has no portable (MLflow pyfunc) form: a gap in the code, not in the input."""


class PeriodError(SegmlError, ValueError):
    """`as_of` does not fit the data: far past the export's last purchase, or before its first."""
