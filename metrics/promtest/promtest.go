// Package promtest starts a real Prometheus server for tests: the
// prometheus binary on 127.0.0.1 at a free port, with a temporary storage
// directory whose history is backfilled beforehand from Go series with
// promtool (tsdb create-blocks-from openmetrics).
//
// It serves the tests of the metrics stage's Prometheus source and of
// everything built on it (the controller, the recommend command). The
// binaries are looked up in PATH (Debian's prometheus package installs
// both), then in bin/ at the module root; a test that needs them fails
// with a message saying how to install them — it never skips.
//
//	srv := promtest.Start(t, promtest.Options{History: []metrics.Series{demand}})
//	client, _ := metrics.NewPrometheusClient(srv.URL, nil)
//	…
//	srv.Stop() // e.g. to test what callers do when Prometheus goes away
package promtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stuurman/stuurman/metrics"
)

// Options configure Start. The zero value starts an empty server.
type Options struct {
	// History is written into the server's storage before it starts; see
	// WriteOpenMetrics for how each Series becomes samples.
	History []metrics.Series
	// Args are extra prometheus flags, appended after (and so overriding)
	// the ones Start sets, e.g. "--query.lookback-delta=1m".
	Args []string
	// Prometheus and Promtool are the binaries. Default: "prometheus" and
	// "promtool" found in PATH, else in bin/ at the module root.
	Prometheus, Promtool string
	// ReadyTimeout bounds the wait for /-/ready. Default 60s.
	ReadyTimeout time.Duration
}

// Server is a running Prometheus. Start stops it when the test ends.
type Server struct {
	// URL is the server's base URL, "http://127.0.0.1:<port>".
	URL string
	// Dir holds the configuration and, in Dir/data, the storage.
	Dir string

	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{} // closed when the process has exited
	err  error         // the process's exit status, set before done closes
	stop sync.Once
}

// Start backfills opt.History, starts prometheus and waits until it is
// ready. Any failure fails the test with the server's log.
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	if opt.ReadyTimeout == 0 {
		opt.ReadyTimeout = 60 * time.Second
	}
	prom := binary(t, opt.Prometheus, "prometheus")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatalf("promtest: %v", err)
	}
	if len(opt.History) > 0 {
		tool := binary(t, opt.Promtool, "promtool")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := Backfill(ctx, tool, data, opt.History); err != nil {
			t.Fatalf("promtest: %v", err)
		}
	}
	config := filepath.Join(dir, "prometheus.yml")
	// No scrape jobs: the server holds only what was backfilled.
	if err := os.WriteFile(config, []byte("global:\n  scrape_interval: 1m\nscrape_configs: []\n"), 0o644); err != nil {
		t.Fatalf("promtest: %v", err)
	}

	var s *Server
	for attempt := 0; ; attempt++ {
		var err error
		s, err = start(t, prom, dir, config, data, opt)
		if err == nil {
			break
		}
		// Another process may take the free port between our probe and
		// Prometheus's listen; try another one.
		if attempt < 3 && strings.Contains(s.log.String(), "address already in use") {
			continue
		}
		t.Fatalf("promtest: %v\nprometheus log:\n%s", err, tail(s.log.String(), 4000))
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("promtest: prometheus log (tail):\n%s", tail(s.log.String(), 4000))
		}
	})
	return s
}

func start(t testing.TB, prom, dir, config, data string, opt Options) (*Server, error) {
	t.Helper()
	addr, err := freeAddr()
	if err != nil {
		return &Server{log: &syncBuffer{}}, err
	}
	args := []string{
		"--config.file=" + config,
		"--storage.tsdb.path=" + data,
		"--storage.tsdb.retention.time=100y",
		"--web.listen-address=" + addr,
	}
	s := &Server{URL: "http://" + addr, Dir: dir, log: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(prom, append(args, opt.Args...)...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.Dir = dir
	if err := s.cmd.Start(); err != nil {
		return s, fmt.Errorf("start %s: %w", prom, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(opt.ReadyTimeout); err != nil {
		s.Stop()
		return s, err
	}
	return s, nil
}

func (s *Server) waitReady(timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-s.done:
			return fmt.Errorf("prometheus exited before it was ready: %v", s.err)
		default:
		}
		resp, err := client.Get(s.URL + "/-/ready")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("prometheus at %s not ready after %v (last: %v)", s.URL, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the server (SIGTERM, then SIGKILL after 10s) and waits for
// it to exit. Later queries fail to connect. It is safe to call more than
// once; Start registers it with t.Cleanup.
func (s *Server) Stop() {
	s.stop.Do(func() {
		if s.cmd == nil || s.cmd.Process == nil {
			return
		}
		select {
		case <-s.done:
			return
		default:
		}
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
}

// Log returns what the server has logged so far.
func (s *Server) Log() string { return s.log.String() }

// Backfill writes series into the Prometheus storage directory data (which
// the server must not be running on yet) with promtool.
func Backfill(ctx context.Context, promtool, data string, series []metrics.Series) error {
	tmp, err := os.MkdirTemp("", "promtest-backfill-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	in := filepath.Join(tmp, "history.om")
	f, err := os.Create(in)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if err := WriteOpenMetrics(w, series); err != nil {
		f.Close()
		return err
	}
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		return err
	}
	// Blocks of up to 31 days (Prometheus's own largest), rather than the
	// default 2h: promtool reads its input once per block, so two weeks
	// would otherwise take 168 passes.
	cmd := exec.CommandContext(ctx, promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", "--max-block-duration=744h", in, data)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("backfill: %s tsdb create-blocks-from openmetrics: %w\n%s", promtool, err, tail(string(out), 4000))
	}
	return nil
}

var (
	metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// WriteOpenMetrics writes series as OpenMetrics text, as promtool's
// backfill reads it: each Series is one time series named Series.Name
// with Series.Labels, and Values[i] is its sample at Start+i·Step
// (timestamps in seconds, millisecond precision). A NaN value writes no
// sample, so it is a gap once read back. A name ending in _total is
// written as a counter (family name without the suffix), any other as a
// gauge. Series of one name form one metric family; the text ends with
// "# EOF".
func WriteOpenMetrics(w io.Writer, series []metrics.Series) error {
	type family struct {
		name, typ string
		series    []metrics.Series
	}
	var families []*family
	byName := map[string]*family{}
	keys := map[string]bool{}
	for _, s := range series {
		if !metricName.MatchString(s.Name) {
			return fmt.Errorf("openmetrics: series name %q is not a metric name", s.Name)
		}
		if s.Step <= 0 && len(s.Values) > 1 {
			return fmt.Errorf("openmetrics: series %s: step must be > 0, got %v", s.Name, s.Step)
		}
		fam, typ := s.Name, "gauge"
		if base, ok := strings.CutSuffix(s.Name, "_total"); ok && base != "" {
			fam, typ = base, "counter"
		}
		if byName[fam] == nil {
			byName[fam] = &family{name: fam, typ: typ}
			families = append(families, byName[fam])
		}
		if byName[fam].typ != typ {
			return fmt.Errorf("openmetrics: %s is both a counter and a gauge", fam)
		}
		lbl, err := labels(s.Labels)
		if err != nil {
			return fmt.Errorf("openmetrics: series %s: %w", s.Name, err)
		}
		if key := s.Name + lbl; keys[key] {
			return fmt.Errorf("openmetrics: series %s%s given twice", s.Name, lbl)
		} else {
			keys[key] = true
		}
		byName[fam].series = append(byName[fam].series, s)
	}
	bw := bufio.NewWriter(w)
	for _, f := range families {
		fmt.Fprintf(bw, "# TYPE %s %s\n", f.name, f.typ)
		for _, s := range f.series {
			lbl, _ := labels(s.Labels)
			for i, v := range s.Values {
				if math.IsNaN(v) {
					continue
				}
				ts := strconv.FormatFloat(float64(s.Time(i).UnixMilli())/1000, 'f', -1, 64)
				fmt.Fprintf(bw, "%s%s %s %s\n", s.Name, lbl, strconv.FormatFloat(v, 'g', -1, 64), ts)
			}
		}
	}
	bw.WriteString("# EOF\n")
	return bw.Flush()
}

// labels formats a label set as {a="x",b="y"}, sorted by name; "" when
// empty.
func labels(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "", nil
	}
	names := make([]string, 0, len(m))
	for k := range m {
		if !labelName.MatchString(k) || strings.HasPrefix(k, "__") {
			return "", fmt.Errorf("label name %q is not valid", k)
		}
		names = append(names, k)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteByte('{')
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=\"%s\"", k, esc.Replace(m[k]))
	}
	b.WriteByte('}')
	return b.String(), nil
}

// binary returns the path of the named binary: given, in PATH, or in bin/
// at the module root. It fails the test when there is none.
func binary(t testing.TB, given, name string) string {
	t.Helper()
	if given != "" {
		if _, err := os.Stat(given); err != nil {
			t.Fatalf("promtest: %s binary: %v", name, err)
		}
		return given
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if root, ok := moduleRoot(); ok {
		p := filepath.Join(root, "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("promtest: no %s binary in PATH or in bin/ at the module root: this test needs a real Prometheus; "+
		"install Debian's prometheus package (it has prometheus and promtool), or "+
		"go install github.com/prometheus/prometheus/cmd/prometheus@v0.316.0 and cmd/promtool into bin/", name)
	return ""
}

// moduleRoot walks up from the working directory to the directory holding
// go.mod.
func moduleRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// syncBuffer is a bytes.Buffer safe for the process's writes and the
// test's reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
