"""vaxstudy: audit COVID-19 vaccination registries against the population register."""

__version__ = "0.1.0"
