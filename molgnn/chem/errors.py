"""Typed errors for bad input.

Every error names the input (its id: a SMILES string, a file path or a record id) and the
reason, so that a bulk job can write ``id, reason`` for each rejected record. They derive from
``molgnn.errors.MolgnnError`` (and ``ValueError``), the root of every error molgnn raises on purpose.
"""

from __future__ import annotations

from molgnn.errors import MolgnnError


class InvalidInputError(MolgnnError, ValueError):
    """An input that cannot be turned into a graph.

    Attributes:
        input_id: the SMILES, path or record id of the offending input.
        reason: a short human-readable reason, without the id.
    """

    def __init__(self, input_id: object, reason: str):
        self.input_id = str(input_id)
        self.reason = reason
        super().__init__(f"{self.input_id}: {reason}")

    def __reduce__(self):  # keep both fields when the error crosses a process boundary
        return (type(self), (self.input_id, self.reason))

    def detached(self) -> InvalidInputError:
        """This error without its traceback and its causes' tracebacks, to be kept in a list of rejects.

        A traceback holds the frame that caught the error and, through it, every local of that frame,
        the list of rejects among them: a reference cycle. Only a full run of the cyclic garbage
        collector frees it, and until then a whole chunk of records (RDKit molecules, whose C++ memory
        the collector does not count) stays in memory: a screen grew by about 60 MB per chunk of 2,048
        SMILES with invalid ones among them.
        """
        pending, seen = [self], set()
        while pending:
            error = pending.pop()
            if error is None or id(error) in seen:
                continue
            seen.add(id(error))
            error.__traceback__ = None
            pending += [error.__cause__, error.__context__]
        return self


class InvalidSmilesError(InvalidInputError):
    """Empty SMILES, or one that RDKit cannot parse or sanitize."""


class InvalidStructureError(InvalidInputError):
    """An unreadable, truncated or empty CIF, a missing cell, or a structure with no atoms."""


class UnknownElementError(InvalidInputError):
    """An element symbol that is not in the periodic table or not in the element feature table."""


class PartialOccupancyError(InvalidInputError):
    """A site whose occupancy is below one (disorder); graphs need whole atoms."""


class OverlappingAtomsError(InvalidInputError):
    """Two atoms closer than the featurizer's ``min_distance``."""


class IsolatedAtomError(InvalidInputError):
    """An atom with no neighbour inside the cutoff (when the featurizer is set to reject it)."""


class InvalidLabelError(InvalidInputError):
    """A label cell that is present but is not a number."""


class ChargeEquilibrationError(InvalidInputError):
    """Partial charges could not be computed: an element without parameters, or a singular system."""


class TooManyAtomsError(InvalidInputError):
    """A structure with more atoms than the featurizer's ``max_atoms`` (a cap that protects memory)."""


class MissingChargesError(InvalidInputError):
    """A structure without partial charges where the featurizer reads them from the file."""


class ForceFieldError(InvalidInputError):
    """An element without force-field parameters, so host-guest energies cannot be computed."""


class DescriptorError(InvalidInputError):
    """A global descriptor (pore geometry, host-guest energy) that cannot be computed for a structure."""
