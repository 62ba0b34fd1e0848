"""The statistics of a study: the paper's Welch contrast (`welch`), divergences of the predicted distributions
(`divergence`), multiple-testing adjustment (`significance`) and the summary metrics (`summary`)."""
