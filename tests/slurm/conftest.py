"""A real single-node Slurm on this machine for the tests marked ``slurm``.

The session fixture ``slurm_cluster`` starts munged, slurmctld and slurmd in a temporary folder (own key,
sockets, ports, state, spool and logs; nothing under /etc or /var is touched), with one node of 16 CPUs
(more than the machine has: ``SlurmdParameters=config_overrides``), no cgroups (``proctrack/linuxproc``,
``task/none``) and MPI through PMIx when this Slurm has it. The daemons run as children of pytest and are
stopped at the end of the session. Without the Slurm binaries the tests are skipped (``make test-slurm``
installs them); when the daemons do not start they are skipped with the daemon's log, or fail under
``LANDCOVER_REQUIRE_SLURM=1`` (``make test-slurm``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from landcover_hpc.parallel import launch_environment

DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "scontrol", "sinfo", "srun")
NODE_CPUS = 16


@dataclass
class SlurmCluster:
    """A running test cluster: ``env`` is the environment for Slurm commands and the jobs they submit."""

    root: Path
    node: str
    env: dict[str, str]

    def run(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(args, env=self.env, capture_output=True, text=True, check=check, timeout=timeout)

    def sbatch(self, *args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        """``sbatch --wait --parsable ARGS``: returns when the job (every array task) has ended."""
        return subprocess.run(["sbatch", "--wait", "--parsable", *args], env=self.env, cwd=cwd,
                              capture_output=True, text=True, timeout=timeout)

    def job(self, job_id: str) -> dict[str, str]:
        """``scontrol show job`` as a dict of its KEY=VALUE fields (the first record: one job or array task)."""
        out = self.run("scontrol", "show", "job", "--oneliner", job_id).stdout.splitlines()[0]
        return dict(field.split("=", 1) for field in out.split() if "=" in field)

    def jobs(self, job_id: str) -> list[dict[str, str]]:
        """Every record of ``scontrol show job JOB_ID`` (the tasks of an array)."""
        out = self.run("scontrol", "show", "job", "--oneliner", job_id).stdout.splitlines()
        return [dict(f.split("=", 1) for f in line.split() if "=" in f) for line in out if line.strip()]

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
                         for log in sorted((self.root / "log").glob("*.log")))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unavailable(reason: str):
    if os.environ.get("LANDCOVER_REQUIRE_SLURM") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _wait(predicate, timeout: float, what: str, cluster_root: Path, procs) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        dead = [name for name, p in procs.items() if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            logs = "\n".join(f"--- {f.name}: " + " | ".join(f.read_text(errors="replace").splitlines()[-8:])
                             for f in sorted((cluster_root / "log").iterdir()))
            why = f"{', '.join(dead)} exited" if dead else f"no {what} after {timeout:.0f} s"
            _unavailable(f"the test Slurm did not start ({why}):\n{logs}")
        time.sleep(0.2)


def _slurm_conf(root: Path, node: str, mpi: str) -> str:
    return f"""\
ClusterName=landcovertest
SlurmctldHost={node}
SlurmUser=root
SlurmdUser=root
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root}/munge/munge.socket,cred_expire=15
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/run/slurmctld.pid
SlurmdPidFile={root}/run/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
MpiDefault={mpi}
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
SlurmdParameters=config_overrides
KillWait=5
MinJobAge=600
NodeName={node} NodeAddr=127.0.0.1 CPUs={NODE_CPUS} State=UNKNOWN
PartitionName=test Nodes={node} Default=YES MaxTime=INFINITE State=UP
"""


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    missing = [name for name in DAEMONS if shutil.which(name) is None
               and not Path("/usr/sbin", name).exists()]
    if missing:
        _unavailable(f"Slurm is not installed (missing {', '.join(missing)}): `make test-slurm` installs "
                     "slurm-wlm and munge and runs these tests")
    root = tmp_path_factory.mktemp("slurm")
    for sub in ("munge", "state", "spool", "run", "log"):
        (root / sub).mkdir(mode=0o700)
    node = socket.gethostname().split(".")[0]
    env = launch_environment(drop=("SLURM_",))
    env.update(SLURM_CONF=str(root / "slurm.conf"),
               PATH=f"{Path(sys.executable).parent}:{env['PATH']}:/usr/sbin")
    conf = root / "slurm.conf"
    conf.write_text(_slurm_conf(root, node, "none"))
    # PMIx (srun --mpi=pmix) when this Slurm has the plugin: Open MPI ranks started by srun then form one job
    mpi_list = subprocess.run(["srun", "--mpi=list"], env=env, capture_output=True, text=True).stdout
    if "pmix" in mpi_list:
        conf.write_text(_slurm_conf(root, node, "pmix"))

    sbin = lambda name: shutil.which(name) or f"/usr/sbin/{name}"  # noqa: E731
    key = root / "munge" / "munge.key"
    subprocess.run([sbin("mungekey"), "--create", f"--keyfile={key}"], check=True, capture_output=True)
    key.chmod(0o600)
    logs = root / "log"
    procs: dict[str, subprocess.Popen] = {}

    def start(name, *args):
        procs[name] = subprocess.Popen([sbin(name), *args], env=env, stdout=subprocess.DEVNULL,
                                       stderr=open(logs / f"{name}.stderr", "w"))

    try:
        start("munged", "--foreground", "--force", f"--key-file={key}", f"--socket={root}/munge/munge.socket",
              f"--pid-file={root}/run/munged.pid", f"--log-file={logs}/munged.log", f"--seed-file={root}/munge/seed")
        _wait(lambda: (root / "munge" / "munge.socket").exists(), 20, "munge socket", root, procs)
        start("slurmctld", "-D", "-i", "-f", str(conf))
        start("slurmd", "-D", "-f", str(conf), "-N", node)
        cluster = SlurmCluster(root, node, env)

        def node_idle():
            out = subprocess.run(["sinfo", "--noheader", "--Node", "--format=%t"], env=env, capture_output=True,
                                 text=True)
            return out.stdout.strip() == "idle"

        _wait(node_idle, 60, "idle node in sinfo", root, procs)
        yield cluster
    finally:
        if "slurmctld" in procs and procs["slurmctld"].poll() is None:
            subprocess.run(["scancel", "--full", "--partition=test"], env=env, capture_output=True)
            time.sleep(1)
        for name in ("slurmd", "slurmctld", "munged"):
            if name in procs and procs[name].poll() is None:
                procs[name].terminate()
                try:
                    procs[name].wait(timeout=20)
                except subprocess.TimeoutExpired:
                    procs[name].kill()
                    procs[name].wait()
