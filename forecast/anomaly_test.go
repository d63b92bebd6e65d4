package forecast

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stuurman/stuurman/metrics"
)

var anomT0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// noisyDaily returns n 5-minute samples of a daily pattern plus noise.
func noisyDaily(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 2))
	y := make([]float64, n)
	for i := range y {
		y[i] = 50 + 10*math.Sin(2*math.Pi*float64(i)/288) + rng.NormFloat64()
	}
	return y
}

func scoresOf(t *testing.T, d Detector, y []float64) []float64 {
	t.Helper()
	out := make([]float64, len(y))
	for i, v := range y {
		out[i] = d.Observe(anomT0.Add(time.Duration(i)*5*time.Minute), v).Value
	}
	return out
}

func newDefault(t testing.TB) *AnomalyDetector {
	d, err := NewAnomalyDetector(AnomalyConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestAnomalyCausal: changing future points never changes past scores.
func TestAnomalyCausal(t *testing.T) {
	y := noisyDaily(3000, 1)
	base := scoresOf(t, newDefault(t), y)
	for _, cut := range []int{0, 150, 1000, 2999} {
		z := append([]float64(nil), y...)
		for i := cut; i < len(z); i++ {
			z[i] = z[i]*3 + 1000
		}
		got := scoresOf(t, newDefault(t), z)
		for i := range cut {
			if got[i] != base[i] {
				t.Fatalf("cut %d: score %d changed from %v to %v", cut, i, base[i], got[i])
			}
		}
	}
	// The same holds for each component.
	for name, mk := range map[string]func() Detector{
		"residual": func() Detector { return NewResidualDetector(0.5, 0.05) },
		"rank":     func() Detector { return NewRankDetector(100) },
	} {
		a := scoresOf(t, mk(), y)
		z := append([]float64(nil), y[:500]...)
		z = append(z, make([]float64, 100)...)
		b := scoresOf(t, mk(), z)
		for i := range 500 {
			if a[i] != b[i] {
				t.Fatalf("%s: score %d changed", name, i)
			}
		}
	}
}

// spikeAndShift is a noisy daily pattern with a spike at 2000 and a level
// shift from 3000.
func spikeAndShift() []float64 {
	y := noisyDaily(4000, 3)
	y[2000] += 30
	for i := 3000; i < len(y); i++ {
		y[i] += 25
	}
	return y
}

func alarmsOf(s []float64) []int {
	var alarms []int
	for i, v := range s {
		if v >= 0.5 {
			alarms = append(alarms, i)
		}
	}
	return alarms
}

// TestAnomalyRankedSpikeAndShift: with the ranked views only, a spike and a
// level shift in noise score near 1 at once; the noise around them scores
// low; one alarm per event.
func TestAnomalyRankedSpikeAndShift(t *testing.T) {
	y := spikeAndShift()
	d, err := NewAnomalyDetector(AnomalyConfig{Views: ViewValue | ViewSeasonal, Refractory: 400, Warmup: 100})
	if err != nil {
		t.Fatal(err)
	}
	s := scoresOf(t, d, y)
	for i, v := range s {
		if v < 0 || v > 1 || math.IsNaN(v) {
			t.Fatalf("score %d = %v outside [0,1]", i, v)
		}
	}
	alarms := alarmsOf(s)
	// The spike at once; the shift within Short = 8 samples, as the
	// seasonal view's mean builds up; nothing else.
	if len(alarms) != 2 || alarms[0] != 2000 || alarms[1] < 3000 || alarms[1] > 3008 {
		t.Errorf("alarms at %v, want [2000, 3000..3008]", alarms)
	}
	for _, a := range alarms {
		for i := a + 1; i <= min(a+400, len(s)-1); i++ {
			if s[i] != 0 {
				t.Fatalf("score %d = %v inside the refractory period of the alarm at %d", i, s[i], a)
			}
		}
	}
}

// TestAnomalySpikeAndShift: the default detector alarms at the spike and
// at the first sample of the shift (both leave the range seen so far), and
// stays silent for FastRefractory samples after each alarm. The context
// view buys its sensitivity with some false alarms on pure noise: fewer
// than one in 500 samples here.
func TestAnomalySpikeAndShift(t *testing.T) {
	s := scoresOf(t, newDefault(t), spikeAndShift())
	for i, v := range s {
		if v < 0 || v > 1 || math.IsNaN(v) {
			t.Fatalf("score %d = %v outside [0,1]", i, v)
		}
	}
	alarms := alarmsOf(s)
	if !slices.Contains(alarms, 2000) || !slices.Contains(alarms, 3000) {
		t.Errorf("alarms at %v, want 2000 and 3000 among them", alarms)
	}
	if len(alarms)-2 > len(s)/500 {
		t.Errorf("%d false alarms (at %v)", len(alarms)-2, alarms)
	}
	for _, a := range alarms {
		for i := a + 1; i <= min(a+75, len(s)-1); i++ {
			if s[i] != 0 {
				t.Fatalf("score %d = %v inside the refractory period of the alarm at %d", i, s[i], a)
			}
		}
	}
}

// TestAnomalyGaps: NaN scores 0 and does not poison the state.
func TestAnomalyGaps(t *testing.T) {
	y := noisyDaily(2000, 4)
	with := append([]float64(nil), y...)
	for _, i := range []int{300, 301, 302, 1200} {
		with[i] = math.NaN()
	}
	a := scoresOf(t, newDefault(t), with)
	// The same samples, at the same times, without the gaps.
	d := newDefault(t)
	for i, v := range with {
		if math.IsNaN(v) {
			if a[i] != 0 {
				t.Errorf("gap %d scored %v", i, a[i])
			}
			continue
		}
		if got := d.Observe(anomT0.Add(time.Duration(i)*5*time.Minute), v).Value; got != a[i] {
			t.Fatalf("score %d = %v with gaps, %v without", i, a[i], got)
		}
	}
	s := newDefault(t).Observe(anomT0, math.Inf(1))
	if s.Value != 0 || s.Evidence.PValue != 1 {
		t.Errorf("Inf scored %+v", s)
	}
}

// TestAnomalyScaleFree: an affine change of units leaves the scores of the
// ranked and range views (nearly) unchanged, and the default detector's
// alarms unchanged. (The context view's bins can differ by rounding for a
// value on a bin's edge, such as a new extreme, so its scores may differ a
// little.)
func TestAnomalyScaleFree(t *testing.T) {
	y := noisyDaily(3000, 5)
	y[2500] -= 20
	z := make([]float64, len(y))
	for i, v := range y {
		z[i] = 1e6 + 1e4*v
	}
	for _, views := range []View{DefaultViews &^ ViewContext, DefaultViews} {
		mk := func() Detector {
			d, err := NewAnomalyDetector(AnomalyConfig{Views: views})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		a, b := scoresOf(t, mk(), y), scoresOf(t, mk(), z)
		if views&ViewContext != 0 {
			if !slices.Equal(alarmsOf(a), alarmsOf(b)) {
				t.Errorf("alarms %v in units, %v rescaled", alarmsOf(a), alarmsOf(b))
			}
			continue
		}
		for i := range a {
			if math.Abs(a[i]-b[i]) > 1e-6 {
				t.Fatalf("views %#x: score %d: %v in units, %v rescaled", views, i, a[i], b[i])
			}
		}
	}
}

func TestAnomalyConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  AnomalyConfig
		want string
	}{
		{AnomalyConfig{Alpha: 2}, "AnomalyConfig.Alpha"},
		{AnomalyConfig{Window: 1}, "AnomalyConfig.Window"},
		{AnomalyConfig{Damping: -1}, "AnomalyConfig.Damping"},
		{AnomalyConfig{Views: 64}, "AnomalyConfig.Views"},
		{AnomalyConfig{ContextWeight: 2}, "AnomalyConfig.ContextWeight"},
		{AnomalyConfig{FastRefractory: -1}, "AnomalyConfig.FastRefractory"},
		{AnomalyConfig{RangeTolerance: -1}, "AnomalyConfig.RangeTolerance"},
		{AnomalyConfig{Context: CADConfig{Bits: 40}}, "AnomalyConfig.Context"},
	} {
		if _, err := NewAnomalyDetector(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestScoreFinding(t *testing.T) {
	d := NewResidualDetector(0.5, 0.05)
	for i := range 200 {
		d.Observe(anomT0.Add(time.Duration(i)*time.Minute), 100+float64(i%2))
	}
	s := d.Observe(anomT0.Add(200*time.Minute), 150)
	f := s.Finding("default/web")
	if f.Kind != FindingAnomaly || f.Subject != "default/web" || !f.Time.Equal(anomT0.Add(200*time.Minute)) {
		t.Fatalf("finding %+v", f)
	}
	if f.Evidence["observed"] != 150 || math.Abs(f.Evidence["expected"]-100.5) > 0.6 || f.Evidence["robust_z"] < 10 {
		t.Errorf("evidence %v", f.Evidence)
	}
	if f.Severity != SeverityCritical || !strings.Contains(f.Summary, "observed 150") {
		t.Errorf("severity %v summary %q", f.Severity, f.Summary)
	}
}

func TestRankDetector(t *testing.T) {
	d := NewRankDetector(4)
	for i, v := range []float64{1, 2, 3, 4} {
		d.Observe(anomT0.Add(time.Duration(i)), v)
	}
	// 9 is above all 4: upper tail (0+0+1)/5 = 0.2, two-sided 0.4.
	if s := d.Observe(anomT0, 9); math.Abs(s.Evidence.PValue-0.4) > 1e-12 {
		t.Errorf("p = %v, want 0.4", s.Evidence.PValue)
	}
	// The window is now 2,3,4,9: 2.5 has 1 below, 3 above.
	if s := d.Observe(anomT0, 2.5); math.Abs(s.Evidence.PValue-0.8) > 1e-12 {
		t.Errorf("p = %v, want 0.8", s.Evidence.PValue)
	}
}

func BenchmarkDetector(b *testing.B) {
	y := noisyDaily(20000, 6)
	d := newDefault(b)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		d.Observe(anomT0.Add(time.Duration(i)*5*time.Minute), y[i%len(y)])
		i++
	}
}

func ExampleAnomalyDetector() {
	d, err := NewAnomalyDetector(AnomalyConfig{})
	if err != nil {
		panic(err)
	}
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	var alarm Score
	for i := range 1000 { // a request rate that wobbles around 100/s
		v := 100 + float64(i%5)
		if i == 900 {
			v = 180 // until it does not
		}
		if s := d.Observe(start.Add(time.Duration(i)*time.Minute), v); s.Value >= 0.5 {
			alarm = s
		}
	}
	f := alarm.Finding("shop/checkout")
	fmt.Println(f.Time.Format(time.TimeOnly), f.Kind, f.Severity, f.Evidence["observed"])
	// Output: 15:00:00 anomaly critical 180
}

func ExampleMemoryOOM() {
	// Six hours of a working set that leaks 20 MiB an hour from 200 MiB.
	y := make([]float64, 360)
	for i := range y {
		y[i] = (200 + 20*float64(i)/60 + float64(i%3)) * mib
	}
	ws := metrics.Series{Start: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), Step: time.Minute, Values: y}
	f, ok := MemoryOOM("shop/cart", ws, 512*mib, TrendOptions{})
	fmt.Println(ok, f.Kind, f.Severity, f.ETA.Round(time.Minute), f.Evidence["slope_per_hour"]/mib)
	// Output: true trend_to_threshold warning 9h34m0s 20
}
