package promtest_test

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stuurman/stuurman/metrics"
	"github.com/stuurman/stuurman/metrics/promtest"
)

func TestWriteOpenMetrics(t *testing.T) {
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	in := []metrics.Series{
		{Name: "http_requests_total", Labels: map[string]string{"pod": "web-0", "namespace": "shop"}, Start: start, Step: 90 * time.Second, Values: []float64{0, math.NaN(), 7.5}},
		{Name: "queue_depth", Labels: map[string]string{"q": `a"b\c`}, Start: start, Step: time.Minute, Values: []float64{3}},
		{Name: "http_requests_total", Labels: map[string]string{"pod": "web-1", "namespace": "shop"}, Start: start.Add(500 * time.Millisecond), Step: time.Minute, Values: []float64{1}},
	}
	var buf bytes.Buffer
	if err := promtest.WriteOpenMetrics(&buf, in); err != nil {
		t.Fatal(err)
	}
	want := `# TYPE http_requests counter
http_requests_total{namespace="shop",pod="web-0"} 0 1772409600
http_requests_total{namespace="shop",pod="web-0"} 7.5 1772409780
http_requests_total{namespace="shop",pod="web-1"} 1 1772409600.5
# TYPE queue_depth gauge
queue_depth{q="a\"b\\c"} 3 1772409600
# EOF
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	for _, bad := range [][]metrics.Series{
		{{Name: "bad-name", Step: time.Minute, Values: []float64{1}}},
		{{Name: "x", Labels: map[string]string{"__name__": "y"}, Step: time.Minute, Values: []float64{1}}},
		{{Name: "x", Step: time.Minute, Values: []float64{1}}, {Name: "x", Step: time.Minute, Values: []float64{2}}},
	} {
		if err := promtest.WriteOpenMetrics(&bytes.Buffer{}, bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// TestStartStop starts an empty server, checks that it answers, stops it
// and checks that it no longer does.
func TestStartStop(t *testing.T) {
	srv := promtest.Start(t, promtest.Options{})
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("URL %q", srv.URL)
	}
	resp, err := http.Get(srv.URL + "/-/healthy")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthy: %s", resp.Status)
	}
	srv.Stop()
	if _, err := http.Get(srv.URL + "/-/healthy"); err == nil {
		t.Fatal("the server still answers after Stop")
	}
	if !strings.Contains(srv.Log(), "Server is ready") {
		t.Errorf("log:\n%s", srv.Log())
	}
}

// recorder is a testing.TB whose Fatalf records the message and ends the
// goroutine, as the real one does.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestMissingBinary: without a prometheus binary the test fails (never
// skips) and says how to install one.
func TestMissingBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		promtest.Start(r, promtest.Options{})
	}()
	<-done
	if !strings.Contains(r.msg, "no prometheus binary in PATH or in bin/") || !strings.Contains(r.msg, "prometheus package") {
		t.Errorf("message: %q", r.msg)
	}
}
