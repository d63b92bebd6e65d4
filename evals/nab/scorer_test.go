package nab

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dataDir returns the evaluation data folder: $STUURMAN_DATA_DIR, or the
// shared data folder beside the project.
func dataDir() string {
	if d := os.Getenv("STUURMAN_DATA_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "data")
}

// readReference reads the corpus at dir/nab with the results in
// dir/nab/reference/numenta, or skips when the data is absent.
func readReference(tb testing.TB) ([]File, map[string][]Window, []Profile) {
	tb.Helper()
	root := filepath.Join(dataDir(), "nab")
	if _, err := os.Stat(filepath.Join(root, "labels", "combined_windows.json")); err != nil {
		tb.Skipf("NAB data absent: %v", err)
	}
	windows, err := ReadWindows(filepath.Join(root, "labels", "combined_windows.json"))
	if err != nil {
		tb.Fatal(err)
	}
	profiles, err := ReadProfiles(filepath.Join(root, "profiles.json"))
	if err != nil {
		tb.Fatal(err)
	}
	names, err := DataFiles(filepath.Join(root, "data"))
	if err != nil {
		tb.Fatal(err)
	}
	results := filepath.Join(root, "reference", "numenta")
	det, err := DetectorName(results, names)
	if err != nil {
		tb.Fatal(err)
	}
	if det != "numenta" {
		tb.Fatalf("detector %q, want numenta", det)
	}
	var files []File
	for _, n := range names {
		f, err := ReadFile(ResultsPath(results, det, n), n, true)
		if err != nil {
			tb.Fatal(err)
		}
		files = append(files, f)
	}
	return files, windows, profiles
}

// TestNumentaReference reproduces the official NAB scorer's figures for
// Numenta HTM's published results on the 41-file split.
func TestNumentaReference(t *testing.T) {
	files, windows, profiles := readReference(t)
	if len(files) != 41 {
		t.Fatalf("%d files, want 41", len(files))
	}
	start := time.Now()
	c, err := NewCorpus(files, windows, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if all, sc := c.Windows(); all != 69 || sc != 69 {
		t.Errorf("windows %d (scorable %d), want 69", all, sc)
	}
	want := map[string]struct{ threshold, raw, null, norm float64 }{
		Standard:    {0.544449877418, 25.637885382857725, -69, 68.58},
		RewardLowFP: {0.602095149663, 16.843714227355928, -69, 62.21},
		RewardLowFN: {0.544449877418, 12.637885382857725, -138, 72.77},
	}
	for _, p := range profiles {
		w, ok := want[p.Name]
		if !ok {
			t.Errorf("unexpected profile %q", p.Name)
			continue
		}
		r := c.Best(p)
		if math.Abs(r.Threshold-w.threshold) > 1e-12 || math.Abs(r.Score-w.raw) > 1e-9 ||
			r.Null != w.null || math.Abs(r.Normalized-w.norm) > 0.005 {
			t.Errorf("%s: threshold %.12g raw %.15g null %g normalised %.4f; want %.12g %.15g %g %.2f",
				p.Name, r.Threshold, r.Score, r.Null, r.Normalized, w.threshold, w.raw, w.null, w.norm)
		}
		t.Logf("%s: threshold %.12g raw %.12g normalised %.2f", p.Name, r.Threshold, r.Score, r.Normalized)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("scoring took %v", d)
	}
}

func tm(i int) time.Time {
	return time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
}

func synthetic(n int, scores map[int]float64) File {
	f := File{Name: "cat/a.csv", Scores: make([]float64, n)}
	for i := range n {
		f.Times = append(f.Times, tm(i))
		f.Scores[i] = scores[i]
	}
	return f
}

// TestScoreByHand checks the formulas on a 100-row file with one window on
// rows 50..59 (probation: 15 rows).
func TestScoreByHand(t *testing.T) {
	win := map[string][]Window{"cat/a.csv": {{tm(50), tm(59)}}}
	std := DefaultProfiles()[0]
	sig := ScaledSigmoid
	for _, tc := range []struct {
		name   string
		scores map[int]float64
		want   float64
	}{
		{"null", nil, -1},
		{"window start", map[int]float64{50: 1}, sig(-1) / sig(-1)},
		{"window middle, earliest counts", map[int]float64{55: 1, 57: 1}, sig(-0.5) / sig(-1)},
		{"fp before any window", map[int]float64{20: 1}, -1 - 0.11},
		{"fp in probation is free", map[int]float64{10: 1}, -1},
		{"fp after the window", map[int]float64{50: 1, 68: 1}, 1 + 0.11*sig(9.0/9)},
		{"fp right after the window", map[int]float64{60: 1}, -1 + 0.11*sig(1.0/9)},
	} {
		c, err := NewCorpus([]File{synthetic(100, tc.scores)}, win, Options{})
		if err != nil {
			t.Fatal(err)
		}
		r := c.At(std, 0.5)
		if math.Abs(r.Score-tc.want) > 1e-12 {
			t.Errorf("%s: score %v, want %v", tc.name, r.Score, tc.want)
		}
		if r.Null != -1 || r.Perfect != 1 {
			t.Errorf("%s: null %v perfect %v", tc.name, r.Null, r.Perfect)
		}
	}
	// The sweep agrees with At at every threshold.
	c, _ := NewCorpus([]File{synthetic(100, map[int]float64{20: 0.9, 52: 0.7, 55: 0.8, 70: 0.3, 90: 0.3})}, win, Options{})
	sw := c.Sweep(std)
	if len(sw) != 6 || sw[0].Threshold != 1.1 || sw[0].Score != -1 {
		t.Fatalf("sweep %+v", sw)
	}
	for _, s := range sw {
		if r := c.At(std, s.Threshold); math.Abs(r.Score-s.Score) > 1e-12 {
			t.Errorf("threshold %v: sweep %v, At %v", s.Threshold, s.Score, r.Score)
		}
	}
	if best := c.Best(std); best.Threshold != 0.7 {
		t.Errorf("best threshold %v, want 0.7", best.Threshold)
	}
}

func TestProbationaryLength(t *testing.T) {
	for _, tc := range []struct{ n, want int }{{100, 15}, {4032, 604}, {5000, 750}, {22695, 750}, {6, 0}} {
		if got := ProbationaryLength(tc.n, 0.15); got != tc.want {
			t.Errorf("ProbationaryLength(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("timestamp,value,anomaly_score\n2020-01-01 00:00:00,1,0.5\n2020-01-01 00:05:00,2,x\n"), 0o644)
	if _, err := ReadFile(bad, "c/bad.csv", true); err == nil || !strings.Contains(err.Error(), bad+":3: anomaly_score") {
		t.Errorf("err = %v", err)
	}
	os.WriteFile(bad, []byte("timestamp,value\n2020-01-01 00:05:00,1\n2020-01-01 00:00,2\n"), 0o644)
	if _, err := ReadFile(bad, "c/bad.csv", false); err == nil || !strings.Contains(err.Error(), bad+":3: timestamp") {
		t.Errorf("err = %v", err)
	}
	f := synthetic(10, nil)
	if _, err := NewCorpus([]File{f}, map[string][]Window{}, Options{}); err == nil || !strings.Contains(err.Error(), "cat/a.csv: no entry") {
		t.Errorf("err = %v", err)
	}
	if _, err := NewCorpus([]File{f}, map[string][]Window{f.Name: {{tm(20), tm(30)}}}, Options{}); err == nil || !strings.Contains(err.Error(), "covers no row") {
		t.Errorf("err = %v", err)
	}
}

func BenchmarkNABScore(b *testing.B) {
	files, windows, profiles := readReference(b)
	b.ResetTimer()
	for b.Loop() {
		c, err := NewCorpus(files, windows, Options{})
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range profiles {
			c.Best(p)
		}
	}
}
