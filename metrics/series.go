package metrics

import (
	"math"
	"time"
)

// Series is a fixed-step time series. Values[i] is the sample for the interval
// that starts at Start + i*Step; NaN marks a missing sample (a gap).
//
// A Series is a value: stages that receive one must not modify Values in
// place. Use Clone when a modified copy is needed.
type Series struct {
	// Name identifies the metric, e.g. "http_requests_per_minute".
	Name string
	// Labels identify the subject (workload, namespace, source file...).
	Labels map[string]string
	// Start is the time of Values[0].
	Start time.Time
	// Step is the fixed spacing between samples; it is always > 0.
	Step time.Duration
	// Values holds one sample per step; NaN is a gap.
	Values []float64
}

// Len returns the number of samples, gaps included.
func (s Series) Len() int { return len(s.Values) }

// Time returns the timestamp of sample i.
func (s Series) Time(i int) time.Time { return s.Start.Add(time.Duration(i) * s.Step) }

// End returns the timestamp just after the last sample's interval, i.e.
// Start + Len*Step. A sample i is complete (fully observed) at time t when
// Time(i)+Step <= t.
func (s Series) End() time.Time { return s.Time(len(s.Values)) }

// Index returns the index of the sample whose interval contains t, which may
// be negative or >= Len when t lies outside the series.
func (s Series) Index(t time.Time) int {
	d := t.Sub(s.Start)
	i := int(d / s.Step)
	if d < 0 && d%s.Step != 0 {
		i--
	}
	return i
}

// Slice returns the samples [i, j) as a Series sharing the same backing
// array. It panics if the bounds are out of range, like a slice expression.
func (s Series) Slice(i, j int) Series {
	out := s
	out.Start = s.Time(i)
	out.Values = s.Values[i:j:j]
	return out
}

// Until returns the prefix of s made of the samples that are complete at
// time t (see End). It is the view a causal consumer may see at time t.
func (s Series) Until(t time.Time) Series {
	// Samples 0..Index(t)-1 end at or before t; sample Index(t) is still open.
	n := clamp(s.Index(t), 0, len(s.Values))
	return s.Slice(0, n)
}

// Clone returns a deep copy of s.
func (s Series) Clone() Series {
	out := s
	out.Values = append([]float64(nil), s.Values...)
	if s.Labels != nil {
		out.Labels = make(map[string]string, len(s.Labels))
		for k, v := range s.Labels {
			out.Labels[k] = v
		}
	}
	return out
}

// Gaps returns the number of NaN samples.
func (s Series) Gaps() int {
	n := 0
	for _, v := range s.Values {
		if math.IsNaN(v) {
			n++
		}
	}
	return n
}

// Last returns the most recent non-NaN sample and its index, or (NaN, -1)
// when the series holds no observed sample.
func (s Series) Last() (float64, int) {
	for i := len(s.Values) - 1; i >= 0; i-- {
		if !math.IsNaN(s.Values[i]) {
			return s.Values[i], i
		}
	}
	return math.NaN(), -1
}

func clamp(v, lo, hi int) int {
	return max(lo, min(v, hi))
}
