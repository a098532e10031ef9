# Two commands for a new user: `make demo` and `make test`. Both create .venv if missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The demo config reads data/demo (its data_root); change both together.
DEMO_DATA := data/demo
DEMO_CONFIG := configs/keypoint/kpt_voxelcnn-fusion_1xb32-9e_synthetic-crop64.py
# The demo preset: many short, fast-tumbling trajectories at a small sensor, the most distinct
# attitudes per CPU-second (2,400 trajectories × 1 s at 320x180, tumbling at 30-120 deg/s,
# 24,000 labelled windows; see PRESETS in the generator), and in its sub-folder full_sensor/
# SPADES' terms (320 × 0.5 s at 1280x720, tumbling at 2.5-10 deg/s, its own camera.json).
# The seeds pick the data; the number of workers only how fast it is made.
DEMO_DATA_ARGS := --preset demo --seed 0 --workers 2
DEMO_FULL_SENSOR_ARGS := --preset demo-full-sensor --seed 1 --workers 2
# One BLAS/OpenMP thread per process: the trainer and its DataLoader worker share 2 cores,
# and oversubscribed OpenMP threads make an iteration several times slower (README).
DEMO_ENV := OMP_NUM_THREADS=1
DEMO_WORK_DIR := work_dirs/demo
# The demo walks the SPADES path: the body model is reconstructed from the training split's
# labelled events (100 of its 2,432 files, evenly spread, 4,000 events per window: 20-30 s) and
# trained against; the generator's own body.json only says how close the reconstruction came.
DEMO_BODY := $(DEMO_WORK_DIR)/body_reconstructed.json
DEMO_BODY_ARGS := --split train.txt --max-files 100 --max-events-per-window 4000

.PHONY: demo test test-fast lint clean

$(PY): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(PY)

# Generate the synthetic set (skipped when data/demo already holds it: the generator's
# manifest, written last, lists the options it was made with; a set made by an older
# recipe is made again), draw one event window,
# reconstruct the body model from the training split (printed beside the generator's),
# train on CPU against it, evaluate on held-out trajectories (the checkpoint carries the
# body) and print the metrics beside the mean-pose baseline.
demo: $(PY)
	$(PY) tools/dataset_converters/generate_synthetic.py --out $(DEMO_DATA)/full_sensor \
		$(DEMO_FULL_SENSOR_ARGS) --if-changed
	$(PY) tools/dataset_converters/generate_synthetic.py --out $(DEMO_DATA) $(DEMO_DATA_ARGS) \
		--include full_sensor --if-changed
	$(PY) tools/analysis_tools/visualize_events.py $(DEMO_DATA)/RT000.h5 --index 5 \
		--out $(DEMO_WORK_DIR)/event_window.png
	$(DEMO_ENV) $(PY) tools/analysis_tools/reconstruct_body.py $(DEMO_DATA) $(DEMO_BODY_ARGS) \
		--out $(DEMO_BODY) --reference $(DEMO_DATA)/body.json
	$(DEMO_ENV) $(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_WORK_DIR) \
		--body-model $(DEMO_BODY)
	$(DEMO_ENV) $(PY) tools/test.py $(DEMO_CONFIG) $$(cat $(DEMO_WORK_DIR)/last_checkpoint) \
		--work-dir $(DEMO_WORK_DIR)/test --out $(DEMO_WORK_DIR)/test/predictions.csv
	$(PY) tools/analysis_tools/compare_to_baseline.py \
		$$(ls -t $(DEMO_WORK_DIR)/test/*/metrics.json | head -n 1) \
		--data-root $(DEMO_DATA) --train-split train.txt --eval-split test.txt \
		--body-model $(DEMO_BODY)

test: $(PY)
	$(PY) -m pytest

test-fast: $(PY)
	$(PY) -m pytest -m "not slow"

lint: $(PY)
	$(PY) -m ruff check sparkpose tools tests configs projects

clean:
	rm -rf work_dirs $(DEMO_DATA) .pytest_cache
