"""Effect estimation. Only building blocks so far; econml is imported lazily where needed."""

from ._difference import Difference, difference_in_means

__all__ = ["Difference", "difference_in_means"]
