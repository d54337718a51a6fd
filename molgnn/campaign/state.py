"""A campaign's state on disk: what was picked, why, and what the oracle said, so that a killed campaign goes on.

``<folder>/config.json`` is the campaign's config; resuming with another one is refused.
``<folder>/queries.jsonl`` is an append-only log, one JSON object per line, written and synced
before the campaign acts on it:

- ``{"event": "pick", "candidate", "batch", "score", "surrogate"}`` when a candidate is chosen
  (``surrogate``: the version of the surrogate that scored it, the number of results it was trained on);
- ``{"event": "result", "candidate", "status", "value", "reason", "seconds"}`` when its oracle call ends.

A pick without a result (the campaign was killed while its simulation ran) is ``pending``: resuming
sends it to the oracle again, and nothing else is repeated. A last line cut off by the kill is ignored.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from molgnn.campaign.oracles import Outcome
from molgnn.errors import MolgnnError

CONFIG = "config.json"
LOG = "queries.jsonl"


class CampaignStateError(MolgnnError):
    """A campaign folder that holds another campaign, or a log that is not one."""


class CampaignState:
    """The picks and results of the campaign in ``folder`` (created, or read back to resume)."""

    def __init__(self, folder: str | Path, config: dict):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / CONFIG
        if path.exists():
            if json.loads(path.read_text()) != config:
                raise CampaignStateError(f"{self.folder} holds a campaign with another config; "
                                         "use a new folder or the same config to resume")
        else:
            path.write_text(json.dumps(config, indent=1, sort_keys=True))
        self.picks: list[dict] = []
        self.results: dict[str, dict] = {}
        for event in self._read():
            if event["event"] == "pick":
                self.picks.append(event)
            else:
                self.results[event["candidate"]] = event

    @property
    def queried(self) -> set[str]:
        """Candidates picked so far (with or without a result)."""
        return {pick["candidate"] for pick in self.picks}

    @property
    def pending(self) -> list[str]:
        """Candidates picked whose oracle call has not ended, in the order picked."""
        return [pick["candidate"] for pick in self.picks if pick["candidate"] not in self.results]

    @property
    def batches(self) -> int:
        """Batches picked so far."""
        return 1 + max((pick["batch"] for pick in self.picks), default=-1)

    def labelled(self) -> dict[str, float]:
        """The candidates with a value from the oracle, in the order their results came."""
        return {c: r["value"] for c, r in self.results.items() if r["status"] == "ok"}

    def record_pick(self, candidate: str, batch: int, score: float | None, surrogate: int | None) -> None:
        self.record_picks([(candidate, score)], batch, surrogate)

    def record_picks(self, picks: list[tuple[str, float | None]], batch: int, surrogate: int | None) -> None:
        """A whole batch of ``(candidate, score)`` picks, written in one append (a kill leaves all or none of them)."""
        seen = self.queried
        events = []
        for candidate, score in picks:
            if candidate in seen:
                raise CampaignStateError(f"{candidate!r} was picked before")
            seen.add(candidate)
            events.append({"event": "pick", "candidate": candidate, "batch": int(batch),
                           "score": None if score is None else float(score), "surrogate": surrogate})
        self._append(*events)
        self.picks.extend(events)

    def record_result(self, outcome: Outcome) -> None:
        event = {"event": "result", "candidate": outcome.candidate, "status": outcome.status, "value": outcome.value,
                 "reason": outcome.reason, "seconds": outcome.seconds}
        self._append(event)
        self.results[outcome.candidate] = event

    def _append(self, *events: dict) -> None:
        with open(self.folder / LOG, "a") as log:
            log.write("".join(json.dumps(event) + "\n" for event in events))
            log.flush()
            os.fsync(log.fileno())

    def _read(self) -> list[dict]:
        path = self.folder / LOG
        if not path.exists():
            return []
        lines = path.read_text().split("\n")
        events = []
        for number, line in enumerate(lines, 1):
            if not line:
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):  # the line a kill cut off: its event never happened
                    break
                raise CampaignStateError(f"{path}, line {number}: not a JSON object") from None
            if event.get("event") not in ("pick", "result") or "candidate" not in event:
                raise CampaignStateError(f"{path}, line {number}: not a campaign event")
            events.append(event)
        if lines[-1]:  # drop the torn line, so that the next event starts on a line of its own
            with open(path, "w") as log:
                log.write("".join(json.dumps(e) + "\n" for e in events))
        return events
