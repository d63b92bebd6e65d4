package report

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
	"time"
)

// This file is the report's own small plotting code: time-series plots
// drawn as inline SVG, downsampled to at most one bucket per pixel column.

// bucket summarises the samples [lo, hi) of a series for one pixel column.
type bucket struct {
	lo, hi int
	// n counts the valid (non-NaN) samples.
	n int
	// min and max are the extremes of the valid samples, at minAt and
	// maxAt; NaN when n is 0.
	min, max     float64
	minAt, maxAt int
	// leadGap and trailGap report that the first or the last sample of the
	// bucket is missing, so the line must break at that edge.
	leadGap, trailGap bool
}

// at returns values[i], or NaN when i is out of range: a series shorter
// than the plot's domain is missing at the end.
func at(values []float64, i int) float64 {
	if i < 0 || i >= len(values) {
		return math.NaN()
	}
	return values[i]
}

// downsample splits the domain [0, n) into min(n, buckets) buckets of
// (nearly) equal size and summarises values in each: the minimum and the
// maximum, and where they occur. NaN samples are skipped and mark the
// bucket's edges as gaps. Infinite values count as valid.
func downsample(values []float64, n, buckets int) []bucket {
	if n <= 0 || buckets <= 0 {
		return nil
	}
	buckets = min(buckets, n)
	out := make([]bucket, buckets)
	for b := range out {
		lo, hi := b*n/buckets, (b+1)*n/buckets
		k := bucket{lo: lo, hi: hi, min: math.NaN(), max: math.NaN(), minAt: -1, maxAt: -1}
		for i := lo; i < hi; i++ {
			v := at(values, i)
			if math.IsNaN(v) {
				continue
			}
			if k.n == 0 || v < k.min {
				k.min, k.minAt = v, i
			}
			if k.n == 0 || v > k.max {
				k.max, k.maxAt = v, i
			}
			k.n++
		}
		k.leadGap = math.IsNaN(at(values, lo))
		k.trailGap = math.IsNaN(at(values, hi-1))
		out[b] = k
	}
	return out
}

// joined reports whether a line may run from bucket a to the next bucket
// b: both hold data and no missing sample lies at their shared edge.
func joined(a, b bucket) bool {
	return a.n > 0 && b.n > 0 && !a.trailGap && !b.leadGap
}

// Layer kinds.
const (
	layerLine = iota
	layerBand
)

// layer is one drawn series.
type layer struct {
	kind  int
	name  string // legend label and data-series attribute
	color string
	dash  bool
	// values for a line; lower and upper for a band.
	values, lower, upper []float64
}

// timePlot is a plot of series over the sample domain [0, n) of a fixed
// step time axis.
type timePlot struct {
	title  string // accessible title; the HTML heads the plot
	yLabel string
	start  time.Time
	step   time.Duration
	n      int
	layers []layer
}

// Plot geometry, in SVG user units (pixels).
const (
	plotWidth    = 960
	plotHeight   = 340
	marginLeft   = 64
	marginRight  = 16
	marginTop    = 34 // room for the legend
	marginBottom = 42
	innerWidth   = plotWidth - marginLeft - marginRight
	innerHeight  = plotHeight - marginTop - marginBottom
)

// frame maps data to pixels.
type frame struct {
	n          int
	yMin, yMax float64
}

func (f frame) x(i float64) float64 {
	return marginLeft + i/float64(f.n)*innerWidth
}

func (f frame) y(v float64) float64 {
	t := (v - f.yMin) / (f.yMax - f.yMin)
	t = math.Max(-0.01, math.Min(1.01, t)) // clamp just outside the plot area
	return marginTop + (1-t)*innerHeight
}

// svg renders the plot. Every text is escaped.
func (p timePlot) svg() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" class="plot">`,
		plotWidth, plotHeight, plotWidth, plotHeight)
	fmt.Fprintf(&sb, "<title>%s</title>", html.EscapeString(p.title))
	if p.n <= 0 {
		fmt.Fprintf(&sb, `<text x="%d" y="%d">no data</text></svg>`, plotWidth/2, plotHeight/2)
		return sb.String()
	}
	f := p.frame()
	p.axes(&sb, f)
	buckets := innerWidth
	for _, l := range p.layers {
		switch l.kind {
		case layerBand:
			bandPath(&sb, f, l, downsample(l.lower, p.n, buckets), downsample(l.upper, p.n, buckets))
		default:
			linePath(&sb, f, l, downsample(l.values, p.n, buckets))
		}
	}
	p.legend(&sb)
	sb.WriteString("</svg>")
	return sb.String()
}

// frame chooses the y range: from min(0, lowest line value) to the highest
// line value, with headroom. Bands do not widen it (a wild forecast must
// not flatten the demand); they are clipped to it.
func (p timePlot) frame() frame {
	lo, hi := 0.0, math.Inf(-1)
	for _, l := range p.layers {
		if l.kind != layerLine {
			continue
		}
		for i := 0; i < p.n && i < len(l.values); i++ {
			v := l.values[i]
			if finite(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if !finite(hi) || hi <= lo {
		hi = lo + 1
	}
	step := niceStep((hi-lo)*1.05, 5)
	return frame{n: p.n, yMin: math.Floor(lo/step) * step, yMax: math.Ceil(hi*1.05/step) * step}
}

// niceStep returns a step of 1, 2 or 5 × 10^k that cuts span into about
// ticks intervals.
func niceStep(span float64, ticks int) float64 {
	raw := span / float64(ticks)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

// siLabel formats a tick value compactly: 1500 → "1.5k".
func siLabel(v float64) string {
	a := math.Abs(v)
	for _, u := range []struct {
		div    float64
		suffix string
	}{{1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if a >= u.div {
			return strconv.FormatFloat(v/u.div, 'f', -1, 64) + u.suffix
		}
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func (p timePlot) axes(sb *strings.Builder, f frame) {
	fmt.Fprintf(sb, `<rect x="%d" y="%d" width="%d" height="%d" fill="#fff" stroke="#bbb"/>`,
		marginLeft, marginTop, innerWidth, innerHeight)
	// Y ticks and grid.
	step := niceStep(f.yMax-f.yMin, 5)
	sb.WriteString(`<g class="y-axis" font-size="11" fill="#444" text-anchor="end">`)
	for k := 0; ; k++ {
		v := f.yMin + float64(k)*step
		if v > f.yMax+step/1e6 || k > 50 {
			break
		}
		v = math.Round(v/step) * step // no 0.30000000000000004
		y := f.y(v)
		fmt.Fprintf(sb, `<line x1="%d" x2="%d" y1="%s" y2="%s" stroke="#eee"/>`, marginLeft, marginLeft+innerWidth, c(y), c(y))
		fmt.Fprintf(sb, `<text x="%d" y="%s">%s</text>`, marginLeft-6, c(y+4), html.EscapeString(siLabel(v)))
	}
	sb.WriteString("</g>")
	fmt.Fprintf(sb, `<text transform="translate(14 %d) rotate(-90)" font-size="11" fill="#444" text-anchor="middle">%s</text>`,
		marginTop+innerHeight/2, html.EscapeString(p.yLabel))
	// X ticks: times.
	sb.WriteString(`<g class="x-axis" font-size="11" fill="#444" text-anchor="middle">`)
	for _, t := range timeTicks(p.start, p.step, p.n, 8) {
		i := float64(t.at.Sub(p.start)) / float64(p.step)
		x := f.x(i)
		fmt.Fprintf(sb, `<line x1="%s" x2="%s" y1="%d" y2="%d" stroke="#eee"/>`, c(x), c(x), marginTop, marginTop+innerHeight)
		fmt.Fprintf(sb, `<line x1="%s" x2="%s" y1="%d" y2="%d" stroke="#888"/>`, c(x), c(x), marginTop+innerHeight, marginTop+innerHeight+4)
		fmt.Fprintf(sb, `<text x="%s" y="%d">%s</text>`, c(x), marginTop+innerHeight+17, html.EscapeString(t.label))
	}
	sb.WriteString("</g>")
	end := p.start.Add(time.Duration(p.n) * p.step)
	caption := fmt.Sprintf("%s – %s (%s)", p.start.Format("2006-01-02 15:04"), end.Format("2006-01-02 15:04"), p.start.Format("MST -0700"))
	fmt.Fprintf(sb, `<text x="%d" y="%d" font-size="11" fill="#666" text-anchor="middle">%s</text>`,
		marginLeft+innerWidth/2, plotHeight-6, html.EscapeString(caption))
}

// tick is one labelled time on the x axis.
type tick struct {
	at    time.Time
	label string
}

// tickSteps are the candidate intervals between time ticks.
var tickSteps = []time.Duration{
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour,
}

// timeTicks returns at most maxTicks ticks within [start, start+n·step):
// whole minutes or hours for short spans, midnights (in start's location)
// for spans of days. Midnights are labelled with the date, other ticks
// with the time of day.
func timeTicks(start time.Time, step time.Duration, n, maxTicks int) []tick {
	end := start.Add(time.Duration(n) * step)
	span := end.Sub(start)
	if span <= 0 {
		return nil
	}
	every := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if span <= s*time.Duration(maxTicks) {
			every = s
			break
		}
	}
	var out []tick
	label := func(t time.Time) string {
		if t.Hour() == 0 && t.Minute() == 0 {
			return t.Format("Jan 2")
		}
		return t.Format("15:04")
	}
	if every < 24*time.Hour {
		// Align in the location's wall clock, so hour ticks fall on the
		// hour even with a half-hour offset.
		_, off := start.Zone()
		shift := time.Duration(off) * time.Second
		t := start.Add(shift).Truncate(every).Add(-shift)
		if t.Before(start) {
			t = t.Add(every)
		}
		for ; t.Before(end); t = t.Add(every) {
			out = append(out, tick{t, label(t)})
		}
		return out
	}
	days := int(every / (24 * time.Hour))
	y, m, d := start.Date()
	t := time.Date(y, m, d, 0, 0, 0, 0, start.Location())
	if t.Before(start) {
		t = t.AddDate(0, 0, 1)
	}
	for ; t.Before(end); t = t.AddDate(0, 0, days) {
		out = append(out, tick{t, t.Format("Jan 2")})
	}
	return out
}

// c formats a coordinate with one decimal.
func c(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// linePath draws l as one path: per bucket the minimum and the maximum in
// the order they occur, joined across buckets unless a missing sample lies
// between them, where the path moves (M) instead of drawing (L).
func linePath(sb *strings.Builder, f frame, l layer, bs []bucket) {
	var d strings.Builder
	for k, b := range bs {
		if b.n == 0 {
			continue
		}
		x := c(f.x(float64(b.lo+b.hi) / 2))
		first, second := b.min, b.max
		if b.maxAt < b.minAt {
			first, second = b.max, b.min
		}
		if k > 0 && joined(bs[k-1], b) {
			d.WriteString("L")
		} else {
			d.WriteString("M")
		}
		fmt.Fprintf(&d, "%s %s", x, c(f.y(first)))
		// A lone point still needs a segment to show its round cap.
		if second != first || !(k+1 < len(bs) && joined(b, bs[k+1])) && !(k > 0 && joined(bs[k-1], b)) {
			fmt.Fprintf(&d, "L%s %s", x, c(f.y(second)))
		}
	}
	if d.Len() == 0 {
		return
	}
	dash := ""
	if l.dash {
		dash = ` stroke-dasharray="5 3"`
	}
	fmt.Fprintf(sb, `<path data-series="%s" d="%s" fill="none" stroke="%s" stroke-width="1.3" stroke-linejoin="round" stroke-linecap="round"%s/>`,
		html.EscapeString(l.name), d.String(), l.color, dash)
}

// bandPath draws the band [lower, upper] as filled polygons, one per run of
// joined buckets: the upper edge at each bucket's highest upper bound, the
// lower edge at its lowest lower bound.
func bandPath(sb *strings.Builder, f frame, l layer, lo, up []bucket) {
	var d strings.Builder
	valid := func(k int) bool { return lo[k].n > 0 && up[k].n > 0 }
	link := func(k int) bool { // bucket k joins bucket k+1
		return k+1 < len(lo) && valid(k) && valid(k+1) && joined(lo[k], lo[k+1]) && joined(up[k], up[k+1])
	}
	for k := 0; k < len(lo); {
		if !valid(k) {
			k++
			continue
		}
		end := k
		for link(end) {
			end++
		}
		// Run k..end. A single bucket spans its own width.
		xs := func(j int) (float64, float64) {
			if end == k {
				return f.x(float64(lo[j].lo)), f.x(float64(lo[j].hi))
			}
			m := f.x(float64(lo[j].lo+lo[j].hi) / 2)
			return m, m
		}
		for j := k; j <= end; j++ {
			x0, x1 := xs(j)
			cmd := "L"
			if j == k {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%s %s", cmd, c(x0), c(f.y(up[j].max)))
			if x1 != x0 {
				fmt.Fprintf(&d, "L%s %s", c(x1), c(f.y(up[j].max)))
			}
		}
		for j := end; j >= k; j-- {
			x0, x1 := xs(j)
			fmt.Fprintf(&d, "L%s %s", c(x1), c(f.y(lo[j].min)))
			if x1 != x0 {
				fmt.Fprintf(&d, "L%s %s", c(x0), c(f.y(lo[j].min)))
			}
		}
		d.WriteString("Z")
		k = end + 1
	}
	if d.Len() == 0 {
		return
	}
	fmt.Fprintf(sb, `<path data-series="%s" d="%s" fill="%s" fill-opacity="0.3" stroke="none"/>`,
		html.EscapeString(l.name), d.String(), l.color)
}

// legend draws one swatch and label per named layer along the top.
func (p timePlot) legend(sb *strings.Builder) {
	x, y := float64(marginLeft), 14.0
	sb.WriteString(`<g class="legend" font-size="12" fill="#222">`)
	for _, l := range p.layers {
		if l.name == "" {
			continue
		}
		w := 28 + 6.5*float64(len([]rune(l.name)))
		if x+w > plotWidth-marginRight && x > marginLeft {
			x, y = marginLeft, y+16
		}
		if l.kind == layerBand {
			fmt.Fprintf(sb, `<rect x="%s" y="%s" width="18" height="10" fill="%s" fill-opacity="0.3"/>`, c(x), c(y-8), l.color)
		} else {
			dash := ""
			if l.dash {
				dash = ` stroke-dasharray="5 3"`
			}
			fmt.Fprintf(sb, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="2"%s/>`, c(x), c(x+18), c(y-3), c(y-3), l.color, dash)
		}
		fmt.Fprintf(sb, `<text x="%s" y="%s">%s</text>`, c(x+23), c(y+1), html.EscapeString(l.name))
		x += w + 12
	}
	sb.WriteString("</g>")
}
