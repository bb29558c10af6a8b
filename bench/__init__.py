"""esr-bench measurement: complexity, runtime, quality, result records and the command line."""

__version__ = "0.1.0"
