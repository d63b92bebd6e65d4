package forecast

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestDetectPeriod(t *testing.T) {
	minute := func() []float64 {
		// Two weeks of minutes: a daily bump plus noise and gaps.
		rng := rand.New(rand.NewPCG(5, 5))
		y := make([]float64, 20160)
		for i := range y {
			d := float64(i%1440) / 1440
			y[i] = 50 + 30*math.Exp(-math.Pow((d-0.6)/0.15, 2)) + 5*rng.NormFloat64()
			if i%97 == 0 {
				y[i] = math.NaN()
			}
		}
		return y
	}()
	tests := []struct {
		name       string
		y          []float64
		lo, hi     int
		want, tol  int
		wantAbove  float64
		wantNoPeak bool
	}{
		{"noisy daily hourly", seasonal(24*21, 24, 10, 0, 3, 9), 2, 200, 24, 0, 0.3, false},
		{"hourly with gaps", withGaps(seasonal(24*21, 24, 10, 0, 3, 9), 5, 6, 7, 100, 200, 201), 2, 200, 24, 0, 0.3, false},
		{"minute daily", minute, 2, 5000, 1440, 30, 0.3, false},
		{"white noise", seasonal(1000, 1000, 0, 0, 1, 4), 2, 400, 0, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, acf := DetectPeriod(tt.y, tt.lo, tt.hi)
			if tt.wantNoPeak {
				if p != 0 {
					t.Errorf("got %d (acf %.3f), want 0", p, acf)
				}
				return
			}
			if abs(p-tt.want) > tt.tol || acf < tt.wantAbove {
				t.Errorf("got %d (acf %.3f), want %d±%d with acf >= %g", p, acf, tt.want, tt.tol, tt.wantAbove)
			}
		})
	}
}

func TestDetectPeriodFast(t *testing.T) {
	y := seasonal(20160, 1440, 100, 0, 5, 2)
	start := time.Now()
	p, _ := DetectPeriod(y, 2, 10080)
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("took %v", d)
	}
	if abs(p-1440) > 15 {
		t.Errorf("period %d, want 1440±15", p)
	}
}

func TestBestCandidatePeriod(t *testing.T) {
	y := seasonal(24*30, 24, 10, 0, 2, 3) // hourly samples with a daily season
	p, acf := BestCandidatePeriod(y, CandidatePeriods(time.Hour))
	if p != 24 || acf < 0.5 {
		t.Errorf("got %d (acf %.3f), want 24", p, acf)
	}
	if p, _ := BestCandidatePeriod(y, []int{7, 10}); p != 0 {
		t.Errorf("no candidate is a season, got %d", p)
	}
}

func TestCandidatePeriods(t *testing.T) {
	tests := []struct {
		step time.Duration
		want []int
	}{
		{time.Minute, []int{60, 1440, 10080}},
		{5 * time.Minute, []int{12, 288, 2016}},
		{time.Hour, []int{24, 168}},
		{24 * time.Hour, []int{7}},
		{7 * time.Minute, []int{1440}}, // only the week is whole
		{11 * time.Minute, nil},
		{0, nil},
	}
	for _, tt := range tests {
		if got := CandidatePeriods(tt.step); !slices.Equal(got, tt.want) {
			t.Errorf("CandidatePeriods(%v) = %v, want %v", tt.step, got, tt.want)
		}
	}
}

func BenchmarkDetectPeriod(b *testing.B) {
	y := seasonal(20160, 1440, 100, 0, 5, 2)
	for b.Loop() {
		DetectPeriod(y, 2, 10080)
	}
}
