package forecast

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestCADByHand: the raw scores of a value alternating between the lowest
// and the highest bin, worked out by hand from the algorithm.
func TestCADByHand(t *testing.T) {
	c := newCADScorer(CADConfig{Min: 0, Max: 7}.withDefaults())
	var got []float64
	for i := range 12 {
		got = append(got, c.observe(float64(7*(i%2))))
	}
	// 1: nothing predicted, nothing reviewed, nothing new: (1−0+0)/2.
	// 2, 3: nothing predicted; the one proposed context (previous facts →
	// these) is new: (1−0+1)/2. From 4 on, the memory predicts the
	// alternation and every sample is as predicted: 0.
	want := []float64{0.5, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if !slices.Equal(got, want) {
		t.Fatalf("scores %v, want %v", got, want)
	}
	// Breaking the alternation (a high value again where a low one is
	// due) is not predicted, and scores.
	if s := c.observe(7); s <= 0 || s > 1 {
		t.Errorf("break scored %v, want in (0,1]", s)
	}
	// Middle values fall in the middle bins: 3.5 is bin ⌊3.5⌋ = 3.
	if b := c.bin(3.5); b != 3 {
		t.Errorf("bin(3.5) = %d, want 3", b)
	}
	if c.bin(-1) != 0 || c.bin(99) != 7 {
		t.Errorf("bins outside the range: %d, %d, want 0, 7", c.bin(-1), c.bin(99))
	}
}

// TestCADMatchesPublished: given the whole file's range and NAB's rest
// period, as NAB runs it, the port reproduces the published scores of the
// original on NAB's realAdExchange/exchange-2_cpc_results.csv (NAB
// repository, results/contextOSE, MIT licence).
func TestCADMatchesPublished(t *testing.T) {
	times, values := readNABSeries(t, filepath.Join("realAdExchange", "exchange-2_cpc_results.csv"))
	want := map[string]float64{ // published non-zero scores among the first 230 rows
		"2011-07-06 09:00:01": 0.223684210526,
		"2011-07-06 10:00:01": 0.775883838384,
		"2011-07-08 14:00:01": 0.309322033898,
		"2011-07-08 15:00:01": 0.242883439616,
		"2011-07-08 16:00:01": 0.31631070278,
		"2011-07-08 17:00:01": 0.221476510067,
		"2011-07-08 20:00:01": 0.342836778332,
		"2011-07-08 21:00:01": 0.189723320158,
		"2011-07-08 22:00:01": 0.29693877551,
		"2011-07-08 23:00:01": 0.226377952756,
		"2011-07-09 00:00:01": 0.225961538462,
		"2011-07-09 04:00:01": 0.189903846154,
		"2011-07-09 05:00:01": 0.265249677957,
		"2011-07-09 08:00:01": 0.463218390805,
		"2011-07-09 14:00:01": 0.261299633906,
		"2011-07-09 17:00:01": 0.250798722045,
		"2011-07-10 02:00:01": 0.258964143426,
		"2011-07-10 08:00:01": 0.877364341085,
	}
	zeros := map[string]bool{"2011-07-06 11:00:01": true, "2011-07-09 09:00:01": true, "2011-07-10 09:00:01": true}
	// NAB: probationary period ⌊0.15·1624⌋ = 243 rows, rest period 243/5.
	d, err := NewCADDetector(CADConfig{Min: slices.Min(values), Max: slices.Max(values), RestPeriod: 48})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for i := range 230 {
		s := d.Observe(times[i], values[i]).Value
		ts := times[i].Format(time.DateTime)
		if w, ok := want[ts]; ok {
			checked++
			if math.Abs(s-w) > 1e-9 {
				t.Errorf("%s: score %.12g, published %.12g", ts, s, w)
			}
		}
		if zeros[ts] && s != 0 {
			t.Errorf("%s: score %v, published 0", ts, s)
		}
	}
	if checked != len(want) {
		t.Fatalf("checked %d of %d published scores", checked, len(want))
	}
}

// readNABSeries reads a NAB data file from the evaluation data
// (STUURMAN_DATA_DIR, default ../../shared/data), skipping when absent.
func readNABSeries(t *testing.T, name string) ([]time.Time, []float64) {
	t.Helper()
	dir := os.Getenv("STUURMAN_DATA_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "data")
	}
	f, err := os.Open(filepath.Join(dir, "nab", "data", name))
	if err != nil {
		t.Skipf("evaluation data not found: %v", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var times []time.Time
	var values []float64
	for _, r := range rows[1:] {
		tm, err := time.Parse(time.DateTime, r[0])
		if err != nil {
			t.Fatal(err)
		}
		v, err := strconv.ParseFloat(r[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		times, values = append(times, tm), append(values, v)
	}
	return times, values
}

// TestCADDetector: scores in [0,1]; the start rests; NaN scores 0 and
// changes nothing; changing future samples never changes past scores; the
// configuration is checked.
func TestCADDetector(t *testing.T) {
	y := noisyDaily(1500, 7)
	y[1200] += 40
	newCAD := func() *CADDetector {
		d, err := NewCADDetector(CADConfig{})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	s := scoresOf(t, newCAD(), y)
	for i, v := range s {
		if !(v >= 0 && v <= 1) {
			t.Fatalf("score %d = %v outside [0,1]", i, v)
		}
		if i < 150 && v != 0 {
			t.Fatalf("score %d = %v inside the rest period at the start", i, v)
		}
	}
	if s[1200] < 0.5 {
		t.Errorf("the spike scored %v", s[1200])
	}

	with := append([]float64(nil), y...)
	with[400], with[401] = math.NaN(), math.Inf(-1)
	a := scoresOf(t, newCAD(), with)
	if a[400] != 0 || a[401] != 0 {
		t.Errorf("gaps scored %v, %v", a[400], a[401])
	}
	d := newCAD()
	for i, v := range with {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if got := d.Observe(anomT0.Add(time.Duration(i)*5*time.Minute), v).Value; got != a[i] {
			t.Fatalf("score %d = %v with gaps, %v without", i, a[i], got)
		}
	}

	for _, cut := range []int{300, 1000} {
		z := append([]float64(nil), y...)
		for i := cut; i < len(z); i++ {
			z[i] = -z[i] * 5
		}
		b := scoresOf(t, newCAD(), z)
		if !slices.Equal(b[:cut], s[:cut]) {
			t.Fatalf("cut %d: past scores changed", cut)
		}
	}

	for _, cfg := range []CADConfig{{Bits: 17}, {MaxActive: -1}, {RestPeriod: -1}, {Min: math.NaN()}, {History: -1}} {
		if _, err := NewCADDetector(cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

// TestCADBoundedMemory: with a small MaxContexts the memory is rebuilt from
// the recent samples instead of growing, and scoring goes on.
func TestCADBoundedMemory(t *testing.T) {
	d, err := NewCADDetector(CADConfig{MaxContexts: 2000, History: 300})
	if err != nil {
		t.Fatal(err)
	}
	y := noisyDaily(3000, 8)
	for i, v := range y {
		s := d.Observe(anomT0.Add(time.Duration(i)*time.Minute), v)
		if n := len(d.cad.mem.contexts); n > 2000+500 {
			t.Fatalf("sample %d: %d contexts", i, n)
		}
		if !(s.Value >= 0 && s.Value <= 1) {
			t.Fatalf("score %d = %v", i, s.Value)
		}
	}
}

// BenchmarkCADDetector: a noisy daily pattern, about the worst case for
// the memory's growth (noise keeps making new contexts).
func BenchmarkCADDetector(b *testing.B) {
	y := noisyDaily(20000, 6)
	d, err := NewCADDetector(CADConfig{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d.Observe(anomT0.Add(time.Duration(i)*5*time.Minute), y[i%len(y)])
		i++
	}
}
