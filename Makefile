# Two commands do all the set-up on a fresh Debian 12 machine with Python 3.11:
#   make demo   - the kiosk with emulated devices and the embedded SQLite cache
#   make test   - the whole test suite (what CI runs)
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Debian packages the kiosk needs at run time: the SC font (ID-card name characters),
# EGL/GL for SDL's offscreen and X11 windows, libmtdev for touch panels, xsel for Kivy's
# clipboard provider, libusb for USB receipt printers, espeak-ng for spoken prompts to
# elderly and low-vision citizens (its Mandarin voice cmn-latn-pinyin; see kiosk/assistance/speech.py).
DEB_PACKAGES := fonts-noto-cjk libgl1 libegl1 libegl-mesa0 libgl1-mesa-dri libgles2 \
	libx11-6 libxext6 libxrandr2 libxi6 libxcursor1 libmtdev1 xsel libusb-1.0-0 espeak-ng
TEST_ENV := SDL_VIDEODRIVER=offscreen SDL_AUDIODRIVER=dummy KIVY_NO_ARGS=1
PROMTOOL := $(VENV)/tools/promtool
PROMTOOL_TRIED := $(VENV)/tools/.promtool-tried

.PHONY: setup system-deps fonts demo test bench screenshots lint locales clean

setup: system-deps $(STAMP) fonts

system-deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	$(PY) -c "import ensurepip" 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	else echo "make: please install the Debian packages:$$missing (apt-get install$$missing)"; exit 0; fi; \
	echo "make: installing Debian packages:$$missing"; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

fonts: $(STAMP)
	@$(BIN)/python -m kiosk.fonts

# The demo runs the reference platform on loopback (port 8470, var/demo/platform.db) beside
# the kiosk and stops it when the kiosk exits; the kiosk's key is made on first run.
demo: setup
	@mkdir -p var/demo; \
	echo 246810 | $(BIN)/kiosk --config etc/demo.ini technician set-pin demo --pin-stdin --if-none; \
	$(BIN)/kiosk --config etc/demo.ini platform serve --port 8470 --db var/demo/platform.db \
	  > var/demo/platform.log 2>&1 & platform=$$!; \
	trap 'kill $$platform 2>/dev/null; wait $$platform 2>/dev/null' EXIT INT TERM; \
	for i in $$(seq 100); do grep -q "platform listening" var/demo/platform.log && break; \
	  kill -0 $$platform 2>/dev/null || break; sleep 0.2; done; \
	if ! grep "platform listening" var/demo/platform.log; then \
	  echo "make demo: the reference platform did not start:"; tail -20 var/demo/platform.log; exit 1; fi; \
	if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
	  $(BIN)/kiosk --config etc/demo.ini run; \
	else \
	  echo "make demo: no display here. On a kiosk PC run 'make demo' in its X session"; \
	  echo "(or 'SDL_VIDEODRIVER=kmsdrm .venv/bin/kiosk --config etc/demo.ini run' on a bare console)."; \
	  echo "Rendering the attract and home screens offscreen instead:"; \
	  $(TEST_ENV) $(BIN)/kiosk --config etc/demo.ini screenshot attract --out var/demo/attract.png; \
	  $(TEST_ENV) $(BIN)/kiosk --config etc/demo.ini screenshot home --out var/demo/home.png; \
	  echo "Queueing a sample application and syncing it to the platform:"; \
	  $(BIN)/kiosk --config etc/demo.ini queue add etc/demo/application.json; \
	  $(BIN)/kiosk --config etc/demo.ini sync --once; \
	  $(BIN)/kiosk --config etc/demo.ini queue status --limit 3; \
	fi

test: setup $(PROMTOOL_TRIED)
	$(TEST_ENV) PROMTOOL="$$([ -x $(PROMTOOL) ] && echo $(abspath $(PROMTOOL)))" $(BIN)/python -m pytest -q

# promtool (Prometheus' rule checker) for the alert-rule tests of deploy/prometheus, unpacked
# from Debian's prometheus package without installing it (the package would also run a
# Prometheus server). Best effort, tried once: without it those tests are skipped.
$(PROMTOOL_TRIED): | $(BIN)/python
	@mkdir -p $(dir $(PROMTOOL)); tmp=$$(mktemp -d); chmod 755 $$tmp; \
	fetch() { (cd $$tmp && apt-get download prometheus >/dev/null 2>&1); }; \
	if fetch || { [ "$$(id -u)" = 0 ] && apt-get update -qq >/dev/null 2>&1 && fetch; }; then \
	  dpkg-deb -x $$tmp/prometheus_*.deb $$tmp/unpacked && \
	  cp $$tmp/unpacked/usr/bin/promtool $(PROMTOOL) && \
	  echo "make: promtool unpacked for the alert-rule tests"; \
	else echo "make: promtool not available here: the alert-rule tests will be skipped"; fi; \
	rm -rf $$tmp; touch $@

bench: setup
	$(TEST_ENV) $(BIN)/python -m bench.run

screenshots: setup
	$(TEST_ENV) $(BIN)/kiosk --config etc/demo.ini screenshot all --out-dir docs/screens

lint: $(STAMP)
	$(BIN)/ruff check .

locales: $(STAMP)
	$(BIN)/pybabel compile --domain kiosk --directory kiosk/locales --statistics

clean:
	rm -rf $(VENV) var build *.egg-info
