package report

import (
	"fmt"
	"math"
	"time"

	"github.com/stuurman/stuurman/metrics"
)

// Colours of the plots' series.
const (
	demandColor = "#222222"
	bandColor   = "#4a90d9"
	pointColor  = "#1f5fa8"
)

// scalerColor gives each scaler a stable colour: the HPA orange, stuurman
// green, others from a small palette by position.
func scalerColor(name string, i int) string {
	switch name {
	case BaselineScaler:
		return "#d95f02"
	case CandidateScaler:
		return "#1b9e77"
	}
	palette := []string{"#7570b3", "#e7298a", "#66a61e", "#a6761d", "#666666"}
	return palette[i%len(palette)]
}

// figure is one plot of the HTML report.
type figure struct {
	Title   string
	Caption string
	SVG     string
}

// figures draws the report's plots: demand with the forecast band and each
// scaler's ready capacity; each scaler's pods; and, for replays longer
// than two days, the busiest day zoomed in.
func figures(r Report) []figure {
	d := demand(r)
	n := d.Len()
	if n == 0 {
		return nil
	}
	out := []figure{
		{
			Title:   "Demand, forecast and capacity",
			Caption: demandCaption(r),
			SVG:     demandPlot(r, 0, n).svg(),
		},
		{
			Title:   "Replicas",
			Caption: "Running pods (starting or ready) of each scaler, mean per sample.",
			SVG:     podsPlot(r).svg(),
		},
	}
	if lo, hi, ok := busiestDay(d); ok && hi-lo < n {
		day := d.Time(lo)
		peak := math.Inf(-1)
		for _, v := range d.Values[lo:hi] {
			if finite(v) {
				peak = math.Max(peak, v)
			}
		}
		out = append(out, figure{
			Title:   "Busiest day: " + day.Format("Mon 2 Jan 2006"),
			Caption: fmt.Sprintf("The calendar day with the most demand in all (peak %s per step), as above.", num(peak)),
			SVG:     demandPlot(r, lo, hi).svg(),
		})
	}
	return out
}

func demandCaption(r Report) string {
	s := "Demand per step"
	if hasData(r.Band.Point) || hasData(r.Band.Upper) {
		s += "; stuurman's forecast for each sample made one lead time earlier (dashed), with its band"
		if r.Band.Coverage > 0 {
			s += fmt.Sprintf(" (%.0f %% nominal coverage)", 100*r.Band.Coverage)
		}
	}
	if capacityPerPod(r) > 0 {
		s += fmt.Sprintf("; each scaler's capacity: ready pods × %g per pod", capacityPerPod(r))
	}
	return s + ". Gaps in the data are breaks in the lines."
}

func hasData(xs []float64) bool {
	for _, v := range xs {
		if !math.IsNaN(v) {
			return true
		}
	}
	return false
}

// window returns xs[lo:hi], clipped to xs's length (the plot treats
// missing tail samples as gaps).
func window(xs []float64, lo, hi int) []float64 {
	hi = min(hi, len(xs))
	if lo >= hi {
		return nil
	}
	return xs[lo:hi]
}

// demandPlot plots the samples [lo, hi) of the demand with the band and
// the scalers' ready capacity. Layers are drawn in order: band, capacity,
// demand, forecast.
func demandPlot(r Report, lo, hi int) timePlot {
	d := demand(r)
	p := timePlot{
		title:  "Demand, forecast and capacity",
		yLabel: "demand per step",
		start:  d.Time(lo),
		step:   d.Step,
		n:      hi - lo,
	}
	if d.Name != "" {
		p.yLabel = d.Name
	}
	if hasData(r.Band.Lower) && hasData(r.Band.Upper) {
		p.layers = append(p.layers, layer{kind: layerBand, name: "forecast band", color: bandColor,
			lower: window(r.Band.Lower, lo, hi), upper: window(r.Band.Upper, lo, hi)})
	}
	if cpp := capacityPerPod(r); cpp > 0 {
		for i, s := range r.Sim.Scalers {
			ready := window(s.Ready, lo, hi)
			capacity := make([]float64, len(ready))
			for j, v := range ready {
				capacity[j] = v * cpp
			}
			p.layers = append(p.layers, layer{name: s.Name + " capacity", color: scalerColor(s.Name, i), values: capacity})
		}
	}
	// Demand and the forecast last, on top.
	p.layers = append(p.layers, layer{name: "demand", color: demandColor, values: window(d.Values, lo, hi)})
	if hasData(r.Band.Point) {
		p.layers = append(p.layers, layer{name: "forecast", color: pointColor, dash: true,
			values: window(r.Band.Point, lo, hi)})
	}
	return p
}

// podsPlot plots each scaler's running pods.
func podsPlot(r Report) timePlot {
	d := demand(r)
	p := timePlot{title: "Replicas", yLabel: "pods", start: d.Start, step: d.Step, n: d.Len()}
	for i, s := range r.Sim.Scalers {
		p.layers = append(p.layers, layer{name: s.Name, color: scalerColor(s.Name, i), values: s.Pods})
	}
	return p
}

// busiestDay returns the sample range [lo, hi) of the calendar day (in the
// series' location) with the largest total demand. ok is false when the
// series spans less than two days.
func busiestDay(s metrics.Series) (lo, hi int, ok bool) {
	n := s.Len()
	if n == 0 || s.Time(n-1).Sub(s.Time(0)) < 48*time.Hour {
		return 0, 0, false
	}
	best := math.Inf(-1)
	start := 0
	for start < n {
		y, m, dd := s.Time(start).Date()
		end := start
		sum := 0.0
		for end < n {
			y2, m2, d2 := s.Time(end).Date()
			if y2 != y || m2 != m || d2 != dd {
				break
			}
			if v := at(s.Values, end); finite(v) {
				sum += v
			}
			end++
		}
		if sum > best {
			best, lo, hi = sum, start, end
		}
		start = end
	}
	return lo, hi, best > 0
}
