package controller

import (
	"math"
	"time"

	"github.com/stuurman/stuurman/metrics"
)

// mergeHistory returns a new series: h extended by the samples of s (same step; s's
// samples replace h's where both have a value, as late data revises a
// sample), trimmed to the last keep. When h is empty or its step differs,
// the result starts from s. h is not modified.
func mergeHistory(h, s metrics.Series, keep time.Duration) metrics.Series {
	if s.Len() == 0 {
		return trim(h, keep)
	}
	if h.Len() == 0 || h.Step != s.Step || s.Start.Sub(h.Start)%h.Step != 0 {
		return trim(s.Clone(), keep)
	}
	out := h
	out.Values = append(make([]float64, 0, h.Len()+s.Len()), h.Values...)
	if i := out.Index(s.Start); i < 0 {
		// s starts before h: prepend gaps.
		pad := make([]float64, -i, -i+out.Len())
		for k := range pad {
			pad[k] = math.NaN()
		}
		out.Values = append(pad, out.Values...)
		out.Start = s.Start
	}
	for k, v := range s.Values {
		i := out.Index(s.Time(k))
		for i > out.Len() {
			out.Values = append(out.Values, math.NaN())
		}
		if i == out.Len() {
			out.Values = append(out.Values, v)
		} else if !math.IsNaN(v) {
			out.Values[i] = v
		}
	}
	return trim(out, keep)
}

func trim(h metrics.Series, keep time.Duration) metrics.Series {
	if keep <= 0 || h.Step <= 0 {
		return h
	}
	n := int(keep / h.Step)
	if h.Len() <= n {
		return h
	}
	out := h.Slice(h.Len()-n, h.Len())
	out.Values = append([]float64(nil), out.Values...) // let the old head go
	return out
}
