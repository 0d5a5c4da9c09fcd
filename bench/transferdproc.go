package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/transferd/transferd/integration"
)

// transferdProc is transferd running as a child process of the benchmark.
type transferdProc struct {
	cmd       *exec.Cmd
	app       string
	httpAddr  string // /metrics, /healthz
	debugAddr string // pprof, /bench/heap
	logPath   string
	done      chan error
}

// transferdConfig is the benchmark's configuration: one account whose
// dial template sends targets to the sandbox's phones, the digit rules of
// features.conf (# ends a code; 3 s inter-digit timeout = transferdigittimeout)
// and its no-answer timeout (atxfernoanswertimeout 15 s). Everything else is
// transferd's default, logging included (info, JSON).
func transferdConfig(sb *integration.Sandbox, app, httpAddr, logLevel string) string {
	return fmt.Sprintf(`ari:
  url: %s
  username: %s
  password: %s
  app: %s
http:
  listen: %s
log:
  level: %s
  format: json
accounts:
  %s:
    dial_template: Local/{number}@transferd-test-phones/n
    dial_timeout: 30s
    variables: {TD_TEST: td}
    metaflows:
      digit_timeout: 3s
    transfer:
      no_answer_timeout: 15s
`, sb.URL(), integration.ARIUser, sb.Password, app, httpAddr, logLevel, benchAcct)
}

func freeAddr() (string, error) {
	p, err := integration.FreePort()
	if err != nil {
		return "", err
	}
	return "127.0.0.1:" + strconv.Itoa(p), nil
}

// startTransferd starts `<this binary> serve-transferd` and waits until it
// is connected to ARI.
func startTransferd(ctx context.Context, sb *integration.Sandbox, dir, app string, pool int, logLevel string) (*transferdProc, error) {
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	debugAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "transferd.yaml")
	if err := os.WriteFile(cfgPath, []byte(transferdConfig(sb, app, httpAddr, logLevel)), 0o600); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "transferd.log")
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "serve-transferd", "-config", cfgPath, "-debug", debugAddr, "-http-pool", strconv.Itoa(pool))
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, err
	}
	p := &transferdProc{cmd: cmd, app: app, httpAddr: httpAddr, debugAddr: debugAddr, logPath: logPath, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); lf.Close() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		m, err := p.metrics(ctx)
		if err == nil && m["transferd_ari_connected"] == 1 {
			return p, nil
		}
		select {
		case err := <-p.done:
			p.done <- err
			return nil, fmt.Errorf("transferd exited: %v (log %s)", err, logPath)
		default:
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("transferd did not connect to ARI (log %s): %v", logPath, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *transferdProc) pid() int { return p.cmd.Process.Pid }

// stop ends transferd with SIGINT (calls stay in Stasis; the benchmark has
// ended them already) and waits.
func (p *transferdProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// metrics reads transferd's /metrics into series → value (the series name
// with its labels as printed, e.g. `transferd_transfers_total{account="bench",outcome="completed"}`).
func (p *transferdProc) metrics(ctx context.Context) (map[string]float64, error) {
	body, err := httpGet(ctx, "http://"+p.httpAddr+"/metrics")
	if err != nil {
		return nil, err
	}
	return parseMetrics(body), nil
}

func parseMetrics(body []byte) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out
}

// heap forces two GCs in transferd and reads its heap.
func (p *transferdProc) heap(ctx context.Context) (heapReading, error) {
	var h heapReading
	body, err := httpGet(ctx, "http://"+p.debugAddr+"/bench/heap")
	if err != nil {
		return h, err
	}
	err = json.Unmarshal(body, &h)
	return h, err
}

// profile saves a CPU profile of transferd taken over d.
func (p *transferdProc) profile(ctx context.Context, kind string, d time.Duration, path string) error {
	url := "http://" + p.debugAddr + "/debug/pprof/" + kind
	if kind == "profile" {
		url += "?seconds=" + strconv.Itoa(int(d/time.Second))
	} else {
		url += "?gc=1"
	}
	body, err := httpGet(ctx, url)
	if err != nil {
		return err
	}
	return os.WriteFile(path, body, 0o644)
}

func httpGet(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return b, nil
}

// holds returns the code-to-hold latencies transferd recorded (and forgets
// them when reset).
func (p *transferdProc) holds(ctx context.Context, reset bool) ([]time.Duration, error) {
	url := "http://" + p.debugAddr + "/bench/holds"
	if reset {
		url += "?reset"
	}
	body, err := httpGet(ctx, url)
	if err != nil {
		return nil, err
	}
	var ds []time.Duration
	err = json.Unmarshal(body, &ds)
	return ds, err
}

// requests returns transferd's ARI request durations by method and path
// (and forgets them when reset).
func (p *transferdProc) requests(ctx context.Context, reset bool) (map[string][]time.Duration, error) {
	url := "http://" + p.debugAddr + "/bench/ari"
	if reset {
		url += "?reset"
	}
	body, err := httpGet(ctx, url)
	if err != nil {
		return nil, err
	}
	var m map[string][]time.Duration
	err = json.Unmarshal(body, &m)
	return m, err
}

// eventCounts returns how many ARI events of each type transferd received
// (and forgets them when reset).
func (p *transferdProc) eventCounts(ctx context.Context, reset bool) (map[string]float64, error) {
	url := "http://" + p.debugAddr + "/bench/events"
	if reset {
		url += "?reset"
	}
	body, err := httpGet(ctx, url)
	if err != nil {
		return nil, err
	}
	var m map[string]float64
	err = json.Unmarshal(body, &m)
	return m, err
}
