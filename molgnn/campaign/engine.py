"""The campaign engine: a Colmena thinker steers, a Colmena task server runs the tasks on Parsl executors.

Two Parsl executors: ``simulation`` runs the oracle calls (``workers`` at a time) and ``learning``
trains and runs the surrogate. By default both are local process pools on this machine
(``local_parsl_config``); ``parsl_config`` names a Python file that defines a Parsl ``config`` with
the same two labels (e.g. a SLURM provider; see the README) to run them on a cluster.

The schedule. Batch 0 is the initial picks (random or given). Surrogate version ``v`` is trained on
the given results plus the results of batches ``< v``; the next batch ``B`` is picked by version
``max(first, B - prefetch)``. With ``prefetch`` 1 the batch after next is picked while the current
one is simulated, so the oracle workers go from one batch to the next without waiting for the
retraining, and which candidates are picked depends on the oracle's values only, never on timing:
a campaign killed and started again picks exactly what it would have picked. Picked candidates go
to the simulation executor up to ``QUEUED_PER_WORKER`` ahead of the free workers.
"""

from __future__ import annotations

import collections
import logging
import runpy
import threading
import time
from pathlib import Path

import numpy as np

from molgnn.campaign.acquisition import select_batch
from molgnn.campaign.config import CampaignConfig
from molgnn.campaign.oracles import Outcome
from molgnn.campaign.pool import Pool, PoolSpec, load_pool
from molgnn.campaign.state import CampaignState
from molgnn.campaign.surrogate import check_surrogate
from molgnn.campaign.tasks import cached_oracle
from molgnn.errors import ConfigError, MolgnnError
from molgnn.ownership import owned

EXECUTORS = ("simulation", "learning")
TOPICS = ("simulate", "learn")
# simulations sent per oracle worker beyond the one it runs: the next waits in Parsl's queue, so a worker starts it as
# soon as it is free instead of after a result's round trip through Colmena and the thinker
QUEUED_PER_WORKER = 1


class CampaignError(MolgnnError, RuntimeError):
    """A campaign that cannot go on (e.g. every initial simulation failed, or its surrogate could not be trained)."""


def local_parsl_config(workers: int, run_dir: Path, oracle: dict | None = None):
    """Parsl on this machine: ``workers`` simulation processes and one learning process, one thread each
    (``molgnn.campaign.executor``); the simulation workers make ``oracle`` and import what it needs as they start."""
    from parsl.config import Config

    from molgnn.campaign import tasks
    from molgnn.campaign.executor import LocalProcessExecutor

    simulation = LocalProcessExecutor("simulation", workers, *((tasks.warm_oracle, (oracle,)) if oracle else ()))
    return Config(executors=[simulation, LocalProcessExecutor("learning", 1)], run_dir=str(run_dir), strategy="none",
                  initialize_logging=False)


def user_parsl_config(path: str | Path):
    """The ``config`` a Parsl config file defines; it must have executors labelled ``simulation`` and ``learning``."""
    try:
        config = runpy.run_path(str(path)).get("config")
    except (OSError, SyntaxError) as error:
        raise ConfigError(f"parsl_config {path}: {error}") from None
    labels = {executor.label for executor in getattr(config, "executors", [])}
    if config is None or not set(EXECUTORS) <= labels:
        raise ConfigError(f"parsl_config {path}: needs a Parsl `config` with executors labelled {EXECUTORS}, "
                          f"found {sorted(labels)}")
    return config


def run_campaign(config: CampaignConfig | dict | str | Path, folder: str | Path, *, data_dir: str | Path | None = None,
                 cache_dir: str | Path | None = None, progress: bool = True) -> dict:
    """Run (or resume) the campaign ``config`` in ``folder``; returns its summary (``molgnn.campaign.report``).

    Args:
        config: a ``CampaignConfig``, its dict, or the path of its TOML/JSON file.
        folder: the campaign folder: ``config.json``, ``queries.jsonl`` (every pick and result),
            ``surrogates/v<N>/``, ``history.csv``, ``summary.json`` and ``discovery.png``. A campaign there
            with the same config is resumed; another config is refused.
        data_dir: the folder of the registered data sets, for a pool named by one (else ``$MOLGNN_DATA_DIR``).
        cache_dir: the dataset cache of the pool (else ``$MOLGNN_CACHE_DIR`` or ``~/.cache/molgnn``).
        progress: print a line per batch.

    Raises ``OutputInUseError`` (``molgnn.ownership``) while another process runs a campaign in ``folder``.
    """
    config = _config(config)
    folder = Path(folder)
    check_surrogate(config.surrogate)
    cached_oracle(config.oracle)  # a wrong oracle fails here, not in every worker (and a table is read once)
    with owned(folder, "campaign"):  # a second campaign in the same folder is refused, naming the process that runs it
        return _run(config, folder, data_dir, cache_dir, progress)


def _run(config: CampaignConfig, folder: Path, data_dir, cache_dir, progress: bool) -> dict:
    from molgnn.campaign import report

    state = CampaignState(folder, config.to_dict())
    started = time.perf_counter()
    queues, server = _start_task_server(config, folder)  # its workers start while the pool loads
    try:
        spec = PoolSpec.of(config, *(None if d is None else str(Path(d).resolve()) for d in (data_dir, cache_dir)))
        pool = load_pool(spec, progress)
        if config.surrogate["kind"] == "forest" or config.min_distance is not None:
            pool.features()  # a missing descriptor set fails before any simulation
        known = _given_results(config, pool)
        if config.budget > len(pool.ids) - len(known):
            raise ConfigError(f"budget {config.budget} is more than the {len(pool.ids) - len(known)} candidates of the "
                              "pool without a result")
        if not state.picks and not known:
            _initial_picks(config, pool, state)
        thinker = _thinker_class()(queues, config, state, pool, spec, known, folder, progress)
        thinker.start()
        thinker.join()
    finally:
        queues.send_kill_signal()
        server.join()
    span = None if thinker.first_started is None else thinker.last_received - thinker.first_started
    summary = report.write(folder, config, state, pool, known, wall_seconds=time.perf_counter() - started,
                           busy_seconds=thinker.busy_seconds, span_seconds=span)
    if thinker.error is not None:
        raise CampaignError(f"campaign {folder}: {thinker.error}")
    return summary


def _start_task_server(config: CampaignConfig, folder: Path):
    """Colmena's queues and its task server, started: a process running the Parsl executors of ``config``."""
    from colmena.queue.python import PipeQueues
    from colmena.task_server.parsl import ParslTaskServer

    from molgnn.campaign import tasks

    if config.parsl_config:
        parsl_config = user_parsl_config(config.parsl_config)
        if parsl_config.run_dir == "runinfo":  # Parsl's default, in the working directory: the campaign's folder instead
            parsl_config.run_dir = str(folder / "parsl")
    else:
        parsl_config = local_parsl_config(config.workers, folder / "parsl", config.oracle)
    logging.getLogger("parsl").setLevel(logging.WARNING)
    queues = PipeQueues(topics=TOPICS)
    server = ParslTaskServer([(tasks.simulate, {"executors": ["simulation"]}), (tasks.prepare, {"executors": ["learning"]}),
                              (tasks.train, {"executors": ["learning"]}), (tasks.infer, {"executors": ["learning"]})],
                             queues, parsl_config)
    server.start()
    return queues, server


def _config(config) -> CampaignConfig:
    if isinstance(config, CampaignConfig):
        return config
    if isinstance(config, dict):
        return CampaignConfig.from_dict(config)
    return CampaignConfig.from_file(config)


def _given_results(config: CampaignConfig, pool: Pool) -> dict[str, float]:
    """The results an initial table (``id``, ``value``) gives without oracle calls; {} for random or listed picks."""
    if not isinstance(config.initial, str):
        return {}
    import pandas as pd

    try:
        table = pd.read_csv(config.initial, dtype={"id": str})
    except (OSError, ValueError) as error:
        raise ConfigError(f"initial table {config.initial}: {error}") from None
    if not {"id", "value"} <= set(table.columns):
        raise ConfigError(f"initial table {config.initial}: needs the columns id and value, has {list(table.columns)}")
    unknown = sorted(set(table["id"]) - set(pool.ids))
    if unknown:
        raise ConfigError(f"initial table {config.initial}: {len(unknown)} id(s) not in the pool, e.g. {unknown[:3]}")
    if not np.isfinite(table["value"].to_numpy(float)).all():
        raise ConfigError(f"initial table {config.initial}: values must be finite numbers")
    return dict(zip(table["id"], table["value"].astype(float)))


def _initial_picks(config: CampaignConfig, pool: Pool, state: CampaignState) -> None:
    """Batch 0: ``initial`` random candidates (seeded) or the listed ids."""
    if isinstance(config.initial, list):
        unknown = [c for c in config.initial if str(c) not in set(pool.ids)]
        if unknown:
            raise ConfigError(f"initial picks not in the pool: {unknown[:5]}")
        picks = [str(c) for c in config.initial][: config.budget]
    else:
        order = np.random.default_rng([config.seed, 0]).permutation(len(pool.ids))
        picks = [pool.ids[k] for k in order[: config.initial]]
    state.record_picks([(candidate, None) for candidate in picks], 0, None)


def _thinker_class():
    """The thinker class (made on first use, so that importing this module does not import Colmena)."""
    from colmena.exceptions import TimeoutException
    from colmena.thinker import BaseThinker, agent

    from molgnn.campaign import report

    class CampaignThinker(BaseThinker):
        """Three agents: ``submit`` sends picked candidates to free oracle workers, ``receive`` writes each result,
        ``steer`` retrains the surrogate when a version's results are complete and picks the next batches."""

        def __init__(self, queues, config, state, pool, spec, known, folder, progress):
            super().__init__(queues)
            self.config, self.state, self.pool, self.spec, self.known = config, state, pool, spec, known
            self.folder, self.progress = Path(folder), progress
            self.ready = collections.deque(state.pending)
            self.changed = threading.Condition()
            self.in_flight = 0
            self.error: str | None = None
            self.busy_seconds = 0.0
            self.first_started: float | None = None  # when the first simulation of this run started, and the last ended
            self.last_received: float | None = None

        # -- simulations
        @agent
        def submit(self):
            sent_at_most = self.config.workers * (1 + QUEUED_PER_WORKER)
            while True:
                with self.changed:
                    self.changed.wait_for(lambda: self._stopping() or (self.ready and self.in_flight < sent_at_most))
                    if self._stopping():
                        return
                    candidate = self.ready.popleft()
                    self.in_flight += 1
                self.queues.send_inputs(self.config.oracle, candidate, self.pool.sources[candidate], self.config.oracle_seconds,
                                        method="simulate", topic="simulate", task_info={"candidate": candidate})

        @agent
        def receive(self):
            # an agent rather than Colmena's result_processor, which waits for the queue's count of active tasks:
            # that count is raised after a task is sent, so a result back before it (a fast oracle) is never counted off
            while self.error is None and not (self.done.is_set() and self.in_flight == 0):
                try:
                    result = self.queues.get_result(topic="simulate", timeout=0.5)
                except TimeoutException:
                    continue
                self._record(result)

        def _record(self, result):
            candidate = result.task_info["candidate"]
            if result.success:
                outcome = result.value
            else:  # the worker itself failed (killed, lost): the candidate's failure all the same
                reason = result.failure_info.exception if result.failure_info else "the task failed"
                outcome = Outcome(candidate, "failed", None, f"task failure: {reason}", getattr(result.time, "running", None) or 0.0)
            with self.changed:  # recorded even when stopping: a simulation that ran is never lost
                self.state.record_result(outcome)
                self.busy_seconds += outcome.seconds
                self.last_received = time.perf_counter()
                self.first_started = self.first_started or self.last_received - outcome.seconds
                self.in_flight -= 1
                if self._all_done():
                    self.done.set()
                self.changed.notify_all()

        # -- the surrogate
        @agent
        def steer(self):
            try:
                self._steer()
                with self.changed:  # Colmena ends every agent when one returns: this one returns last
                    self.changed.wait_for(lambda: self.error is not None or self._all_done())
            except Exception as error:  # a surrogate that cannot be trained ends the campaign with the reason
                self.error = f"{type(error).__name__}: {error}"
                self.logger.exception("campaign stopped")
            finally:
                with self.changed:
                    self.done.set()
                    self.changed.notify_all()

        def _steer(self):
            config, first = self.config, 0 if self.known else 1
            if config.acquisition != "random":  # the learning worker starts up while the first batch is simulated
                self._call("prepare", config.surrogate, self.spec)
            while len(self.state.picks) < config.budget and not self._stopping():
                batch = self.state.batches
                version = max(first, batch - config.prefetch)
                with self.changed:
                    self.changed.wait_for(lambda v=version: self._stopping() or self._complete(v))
                    if self._stopping():
                        return
                    labelled = self._labelled(version)
                if not labelled:
                    raise CampaignError("no result to learn from: every simulation so far failed")
                members = self._members(version, labelled)
                for pick_batch in range(batch, version + config.prefetch + 1):
                    if len(self.state.picks) >= config.budget:
                        break
                    self._pick(pick_batch, version, members, labelled)

        def _complete(self, version: int) -> bool:
            """Whether every pick of the batches before ``version`` has its result."""
            return all(p["candidate"] in self.state.results for p in self.state.picks if p["batch"] < version)

        def _labelled(self, version: int) -> dict[str, float]:
            ok = self.state.labelled()
            found = {p["candidate"]: ok[p["candidate"]] for p in self.state.picks
                     if p["batch"] < version and p["candidate"] in ok}
            return {**self.known, **found}

        def _members(self, version: int, labelled: dict[str, float]) -> np.ndarray | None:
            if self.config.acquisition == "random":
                return None
            folder = str(self.folder / "surrogates" / f"v{version}")
            seed = self.config.seed * 1000 + version
            trained = self._call("train", self.config.surrogate, self.spec, labelled, folder, seed)
            return self._call("infer", trained, self.spec)

        def _call(self, method: str, *args):
            self.queues.send_inputs(*args, method=method, topic="learn")
            result = self.queues.get_result(topic="learn")
            if not result.success:
                raise CampaignError(f"{method} of the surrogate failed: {result.failure_info.exception}")
            return result.value

        def _pick(self, batch: int, version: int, members: np.ndarray | None, labelled: dict[str, float]) -> None:
            config, pool = self.config, self.pool
            taken = self.state.queried | set(self.known)
            free = np.array([k for k, c in enumerate(pool.ids) if c not in taken], dtype=int)
            if not len(free):
                raise CampaignError("the pool is exhausted")
            size = min(config.batch_size, config.budget - len(self.state.picks))
            rng = np.random.default_rng([config.seed, batch])
            scores = np.zeros((1, len(pool.ids))) if members is None else members
            values = np.fromiter(labelled.values(), float)
            best = float(values.max() if config.maximize else values.min())
            features = pool.standardized()[free] if config.min_distance is not None else None
            chosen, score = select_batch(config.acquisition, scores[:, free], size, maximize=config.maximize, best=best,
                                         beta=config.beta, xi=config.xi, rng=rng, features=features,
                                         min_distance=config.min_distance)
            picks = [(pool.ids[free[position]], float(value)) for position, value in zip(chosen, score)]
            with self.changed:  # the results the receiver adds are read under the same lock
                self.state.record_picks(picks, batch, None if members is None else version)
                self.ready.extend(candidate for candidate, _ in picks)
                self.changed.notify_all()
                report.write(self.folder, config, self.state, pool, self.known)
                found = self.state.labelled()
            if self.progress:
                top = (max if config.maximize else min)(found.values()) if found else float("nan")
                print(f"batch {batch}: {len(chosen)} picked by {'random' if members is None else f'surrogate v{version}'}; "
                      f"{len(found)} values of {config.budget} calls so far, best {top:.4g}", flush=True)

        def _stopping(self) -> bool:
            return self.error is not None or self.done.is_set()

        def _all_done(self) -> bool:
            return len(self.state.picks) >= self.config.budget and not self.state.pending

    return CampaignThinker
