# landcover_hpc: the two commands of the README (`make demo`, `make test`) do their own set-up.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
MPIRUN := mpirun --oversubscribe --allow-run-as-root --bind-to none -x PYTHONUNBUFFERED=1 -x TF_CPP_MIN_LOG_LEVEL=2
DEMO_OUT ?= demo_output

.PHONY: install demo benchmark benchmark-studies ranking test test-unit test-mpi test-slurm image sif lock clean

install:  ## system packages when missing, .venv with pinned deps, horovod from source, the package
	@bash scripts/install.sh

demo: install  ## the main job on built-in synthetic data
	@DEMO_OUT=$(DEMO_OUT) MPIRUN="$(MPIRUN)" bash scripts/demo.sh

benchmark: install  ## the paper's comparison with error bars: 3 seeds x (FG-UNET, U-Net, MLP, RF), geometric precision
	@MPIRUN="$(MPIRUN)" bash scripts/benchmark.sh

benchmark-studies: install  ## make benchmark, then its studies: class imbalance, prior correction, leave one tile out (5 more FG-UNET trainings, 3 more RF)
	@BENCH_STUDIES=1 MPIRUN="$(MPIRUN)" bash scripts/benchmark.sh

ranking: install  ## every model of the registry and the RF on the benchmark's tiles, one table ranking them (long: hours)
	@MPIRUN="$(MPIRUN)" bash scripts/ranking.sh

test: install  ## the whole test suite: plain pytest (the Slurm tests too where Slurm is installed), then the MPI tests under mpirun with several ranks
	@$(MAKE) --no-print-directory test-unit test-mpi

test-unit:
	$(PY) -m pytest tests -q --durations=15

test-mpi:
	@bash scripts/test_mpi.sh "$(MPIRUN)" "$(PY)"

test-slurm:  ## the batch scripts under a real single-node Slurm (tests/slurm); installs slurm-wlm and munge when missing
	@bash scripts/install.sh --with-slurm
	LANDCOVER_REQUIRE_SLURM=1 $(PY) -m pytest tests -m slurm -q

image:  ## the container image (docker/Dockerfile) built with podman on a base made by debootstrap (no registry needed); not part of `make test`
	@bash scripts/image.sh

sif:  ## the Apptainer image (docker/landcover_hpc.def) with the apptainer on PATH, as root; not part of `make test`
	@bash scripts/image.sh --apptainer

lock:  ## regenerate requirements.lock from requirements.in
	@bash scripts/lock.sh

clean:
	rm -rf $(DEMO_OUT) build *.egg-info .pytest_cache
