package forecast

import (
	"math"
	"time"
)

// ResidualDetector scores each sample by its one-step forecast residual in
// robust units. The forecast is an exponentially smoothed level,
//
//	ŷ(t) = ℓ(t−1),  ℓ(t) = ℓ(t−1) + α·(y(t) − ℓ(t−1)),
//
// and the scale is a running mean absolute residual,
//
//	m(t) = m(t−1) + β·(min(|r(t)|, 5·m(t−1)) − m(t−1)),  r(t) = y(t) − ŷ(t),
//
// clipped so that one outlier cannot inflate it; √(π/2)·m estimates the
// residuals' standard deviation for Gaussian noise, so the robust residual
// is z = r/(1.2533·m) and the two-sided tail probability erfc(|z|/√2). It
// keeps O(1) state and is scale-free.
type ResidualDetector struct {
	alpha, beta  float64
	level, scale float64
	n            int
}

var _ Detector = (*ResidualDetector)(nil)

// NewResidualDetector returns a detector with level smoothing alpha and
// scale smoothing beta, both in (0,1]. It panics otherwise.
func NewResidualDetector(alpha, beta float64) *ResidualDetector {
	if !(alpha > 0 && alpha <= 1 && beta > 0 && beta <= 1) {
		panic("forecast: NewResidualDetector: alpha and beta must be in (0,1]")
	}
	return &ResidualDetector{alpha: alpha, beta: beta}
}

// Observe scores v against the forecast made before it and absorbs it.
// Value is 1 − p.
func (d *ResidualDetector) Observe(t time.Time, v float64) Score {
	s := Score{Time: t, Evidence: Evidence{Observed: v, Expected: nan, Residual: nan, PValue: 1}}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return s
	}
	d.n++
	if d.n == 1 {
		d.level = v
		return s
	}
	r := v - d.level
	s.Evidence.Expected = d.level
	sd := 1.2533 * d.scale
	switch {
	case sd > 0:
		s.Evidence.Residual = r / sd
	case r == 0:
		s.Evidence.Residual = 0
	default:
		s.Evidence.Residual = math.Copysign(math.Inf(1), r)
	}
	if d.n > 2 {
		s.Evidence.PValue = math.Erfc(math.Abs(s.Evidence.Residual) / math.Sqrt2)
	}
	s.Value = 1 - s.Evidence.PValue
	ar := math.Abs(r)
	if d.n == 2 {
		d.scale = ar
	} else {
		if d.scale > 0 {
			ar = min(ar, 5*d.scale)
		}
		d.scale += d.beta * (ar - d.scale)
	}
	d.level += d.alpha * r
	return s
}
