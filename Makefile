# transferd — see README.md.
ASTERISK_ROOT ?= /var/cache/transferd/asterisk-root
export ASTERISK_ROOT
GO ?= go
GOTEST_FLAGS ?=

.PHONY: test unit integration interop sweep asterisk phones chromium screenshots run stop lint bench bench-quick build fuzz

## test: unit tests with -race, then the integration tests on a real Asterisk
## 22 (the chroot is built first when missing: needs root and about a minute).
test: asterisk phones chromium lint
	$(GO) test -race -count=1 -timeout 15m $(GOTEST_FLAGS) ./...

unit:
	$(GO) test -race -count=1 -short ./...

integration: asterisk phones chromium
	$(GO) test -race -count=1 -timeout 15m $(GOTEST_FLAGS) ./integration/...

## sweep: the full kill -9 sweeps (every millisecond from 0 to 40 ms after
## the final digit of a transfer code, and of the complete code: 41 offsets
## each, 5-7 minutes on the shared 2-core machine); `make test` runs them
## every 4 ms (11 offsets).
sweep: asterisk
	TRANSFERD_SWEEP=full $(GO) test -race -count=1 -timeout 20m -run 'TestKillSweep' -v $(GOTEST_FLAGS) ./integration/

## interop: the NATS scenarios against the stock CyCoreSystems ari-proxy
## server instead of `transferd proxy`: STOCK_ARI_PROXY=/path/to/ari-proxy
## make interop. Nothing here builds that binary. Not part of `make test`.
INTEROP_TESTS ?= TestCluster|TestNATSClusterReplicas|TestStock
interop: asterisk phones
	@if [ -z "$(STOCK_ARI_PROXY)" ] || [ ! -x "$(STOCK_ARI_PROXY)" ]; then \
		echo "make interop: set STOCK_ARI_PROXY to an executable stock ari-proxy v5 server"; exit 2; fi
	STOCK_ARI_PROXY=$(abspath $(STOCK_ARI_PROXY)) $(GO) test -race -count=1 -v -timeout 20m -run '$(INTEROP_TESTS)' ./integration/

## asterisk: build the Debian sid chroot with Asterisk 22 when missing.
asterisk:
	@./integration/scripts/asterisk-root.sh

## phones: install the SIP user agents the integration tests drive (Debian
## baresip and sip-tester, i.e. SIPp) when missing.
phones:
	@./integration/scripts/sip-phones.sh

## chromium: install Debian's chromium, the headless browser the operator
## page's tests (integration/ui_test.go) drive, when missing.
chromium:
	@./integration/scripts/chromium.sh

## build: bin/transferd, stamped with the commit it is built from
## (transferd --version).
build:
	$(GO) build -buildvcs=auto -o bin/transferd ./cmd/transferd

## screenshots: retake the operator page's screenshots in docs/ (ui-*.png)
## with its browser test on the sandbox.
screenshots: asterisk chromium
	TRANSFERD_UI_SCREENSHOTS=$(CURDIR)/docs $(GO) test -count=1 -run 'TestUIOperatorPage$$' ./integration/

## run: start the sandbox Asterisk (ARI on 127.0.0.1:$(ARI_PORT)) and
## transferd against it (HTTP on 127.0.0.1:$(HTTP_PORT)). Either port taken
## by another program fails with a message: `make run ARI_PORT=8188
## HTTP_PORT=8190` picks others.
ARI_PORT ?= 8088
HTTP_PORT ?= 8090
run: asterisk build
	$(GO) run ./integration/cmd/sandbox up -port $(ARI_PORT) -run dev
	./bin/transferd --config asterisk-conf/transferd.yaml \
		--ari-url http://127.0.0.1:$(ARI_PORT)/ari --listen 127.0.0.1:$(HTTP_PORT)

## stop: stop the sandbox Asterisk that `make run` started.
stop:
	$(GO) run ./integration/cmd/sandbox down -run dev

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## bench: transferd against Asterisk's own attended transfer on a sandbox
## Asterisk the benchmark starts itself (about 12 minutes on 2 cores):
## side by side, load, ARI latency, heap per call. Prints one table and
## appends it to BENCHMARKS.md. BENCH_FLAGS passes flags (bin/bench -h).
## With STOCK_ARI_PROXY=/path/to/ari-proxy (as for `make interop`), ARI over
## NATS is also timed through that stock server. Not part of `make test`.
bench: asterisk
	$(GO) build -o bin/bench ./bench
	./bin/bench -target bench $(BENCH_FLAGS)

## bench-quick: the same, smaller (about a minute): a smoke run.
bench-quick: asterisk
	$(GO) build -o bin/bench ./bench
	./bin/bench -quick -target bench-quick $(BENCH_FLAGS)

## fuzz: run every fuzz target of the repository (each `func Fuzz...` in a
## _test.go file, found anew on every run) for FUZZTIME each.
FUZZTIME ?= 30s
fuzz:
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
		dir=$$(dirname $$f); \
		for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
			echo "== $$t in $$dir ($(FUZZTIME))"; \
			$(GO) test -run='^$$' -fuzz="^$$t\$$" -fuzztime=$(FUZZTIME) $$dir/; \
		done; \
	done
