package report

import (
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stuurman/stuurman/agents"
	"github.com/stuurman/stuurman/policies"
)

// seriesPath returns the d attribute of the path drawn for the named
// series in the first plot that has one.
func seriesPath(t *testing.T, doc, name string) string {
	t.Helper()
	re := regexp.MustCompile(`data-series="` + regexp.QuoteMeta(name) + `" d="([^"]*)"`)
	m := re.FindStringSubmatch(doc)
	if m == nil {
		t.Fatalf("no path for series %q", name)
	}
	return m[1]
}

func TestHTMLSelfContained(t *testing.T) {
	b, err := HTML(smallReport())
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	if !strings.Contains(doc, "<svg") {
		t.Error("no <svg>")
	}
	for _, u := range regexp.MustCompile(`(?i)https?://[^\s"'<>)]*`).FindAllString(doc, -1) {
		if u != "http://www.w3.org/2000/svg" {
			t.Errorf("external reference %q", u)
		}
	}
	for _, bad := range []string{"<script", "<link", "@import", "src="} {
		if strings.Contains(doc, bad) {
			t.Errorf("HTML contains %q", bad)
		}
	}
	for _, want := range []string{
		"<h1>stuurman dry run: &lt;script&gt;alert(1)&lt;/script&gt;</h1>",
		"<title>stuurman dry run: &lt;script&gt;alert(1)&lt;/script&gt;</title>",
		"<th>hpa</th>", "<th>stuurman</th>",
		`data-series="hpa capacity"`, `data-series="stuurman capacity"`, `data-series="forecast band"`,
		`data-series="demand"`, `data-series="forecast"`, `data-series="hpa"`, `data-series="stuurman"`,
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	text := html.UnescapeString(doc)
	for _, want := range []string{
		"0.93× the HPA's replica-hours with 61 % fewer SLO-violation minutes",
		"forecast upper bound 25 needs 9 pods | within lead time",
		"scaleUp.step: step of +6 clamped to +3",
		"demand 27 far above expected 18",
		"Model at the end of the replay: holt_winters_damped",
		"<td>capacity-per-pod</td><td>4</td>",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

func TestHTMLGapIsABreak(t *testing.T) {
	b, err := HTML(smallReport())
	if err != nil {
		t.Fatal(err)
	}
	d := seriesPath(t, string(b), "demand")
	// Samples 8 and 9 are missing: two subpaths, 0..7 and 10..19.
	if n := strings.Count(d, "M"); n != 2 {
		t.Errorf("demand path has %d moves, want 2: %s", n, d)
	}
	// No point is drawn at zero demand (NaN must not become 0).
	f := demandPlot(smallReport(), 0, 20).frame()
	zero := c(f.y(0))
	for _, pt := range regexp.MustCompile(`[ML]([-0-9.]+) ([-0-9.]+)`).FindAllStringSubmatch(d, -1) {
		if pt[2] == zero {
			t.Errorf("a point at y=0 (%s) in %s", zero, d)
		}
	}
	// 18 valid samples, one point each.
	if n := strings.Count(d, "M") + strings.Count(d, "L"); n != 18 {
		t.Errorf("demand path has %d points, want 18", n)
	}
	// The band starts at sample 3.
	band := seriesPath(t, string(b), "forecast band")
	if n := strings.Count(band, "M"); n != 1 {
		t.Errorf("band has %d polygons, want 1: %s", n, band)
	}
}

func TestMarkdown(t *testing.T) {
	md := string(Markdown(smallReport()))
	for _, want := range []string{
		"# stuurman dry run: &lt;script&gt;alert(1)&lt;/script&gt;\n",
		"Source: testdata/small.csv",
		"| Parameter | Value |\n| --- | --- |\n| capacity-per-pod | 4 |\n| startup-delay | 2m |\n",
		"**stuurman used 0.93× the HPA's replica-hours with 61 % fewer SLO-violation minutes (11.9 vs 30.5).**",
		"| Metric | hpa | stuurman | stuurman / hpa |\n| --- | ---: | ---: | ---: |\n",
		"| Replica-hours | 100.0 | 93.0 | 0.93× |\n",
		"| SLO-violation minutes | 30.5 | 11.9 | 0.39× |\n",
		"| θO over-provisioning accuracy (%) | 40.0 | n/a | n/a |\n",
		"| Scaling actions | 14 | 7 | 0.50× |\n",
		"Model at the end of the replay: holt_winters_damped, season of 1440 steps.",
		"not measured",
		"| 2024-03-01 00:11 | warning | anomaly | web | demand 27 far above expected 18 |",
		"17 decisions were made in all (holds included); 2 of them",
		"| 2024-03-01 00:05 | 3 → 9 | allow | scale to 6 | heuristic | forecast upper bound 25 needs 9 pods \\| within lead time | scaleUp.step: step of +6 clamped to +3 |",
		"| 2024-03-01 00:12 | 6 → 4 | deny | hold |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q\n%s", want, md)
		}
	}
}

func TestDecisionTableCap(t *testing.T) {
	r := smallReport()
	r.Decisions = nil
	for i := 0; i < 120; i++ {
		d := policies.Decision{
			Time:     t0.Add(time.Duration(i) * time.Minute),
			Proposal: agents.Proposal{Action: agents.Action{Kind: agents.ActionScale, Replicas: 5 + i%3}, From: 5, Reason: fmt.Sprintf("r%d", i)},
			Verdict:  policies.Allow,
			Action:   agents.Action{Kind: agents.ActionScale, Replicas: 5 + i%3},
		}
		if i == 100 {
			d.Verdict, d.Action = policies.Deny, agents.Action{Kind: agents.ActionHold}
		}
		r.Decisions = append(r.Decisions, d)
	}
	rows, omitted := decisionTable(r.Decisions, 50)
	if len(rows) != 50 || omitted != 70 {
		t.Fatalf("%d rows, %d omitted; want 50, 70", len(rows), omitted)
	}
	denied := false
	for _, row := range rows {
		if row.Reason == "r100" && row.Verdict == "deny" {
			denied = true
		}
		if strings.HasSuffix(row.FromTo, "→ 5") {
			t.Errorf("a no-change decision %q was shown before larger changes", row.Reason)
		}
	}
	if !denied {
		t.Error("the denial is not shown")
	}
	for i := 1; i < len(rows); i++ {
		if rows[i].Time < rows[i-1].Time {
			t.Errorf("rows out of time order at %d", i)
		}
	}
	md := string(Markdown(r))
	if !strings.Contains(md, "70 are omitted") {
		t.Errorf("Markdown does not say how many decisions were omitted")
	}
	if n := strings.Count(md, "| heuristic |") + strings.Count(md, "|  | r"); n != 50 {
		t.Errorf("Markdown shows %d decision rows, want 50", n)
	}
	r.DecisionRows = -1
	if md := string(Markdown(r)); strings.Contains(md, "| From → to |") {
		t.Error("DecisionRows < 0 still renders a table")
	}
}

func TestDownsampleKeepsExtremes(t *testing.T) {
	n := 10007
	values := make([]float64, n)
	for i := range values {
		values[i] = math.Sin(float64(i)*0.37) * float64(i%101)
		if i%97 == 0 || (i > 3000 && i < 3400) {
			values[i] = math.NaN()
		}
	}
	values = values[:n-5] // a series shorter than the domain: its tail is missing
	bs := downsample(values, n, 880)
	if len(bs) != 880 {
		t.Fatalf("%d buckets", len(bs))
	}
	next := 0
	for _, b := range bs {
		if b.lo != next || b.hi <= b.lo {
			t.Fatalf("bucket [%d,%d) does not continue at %d", b.lo, b.hi, next)
		}
		next = b.hi
		lo, hi, cnt := math.Inf(1), math.Inf(-1), 0
		for i := b.lo; i < b.hi; i++ {
			if v := at(values, i); !math.IsNaN(v) {
				lo, hi, cnt = math.Min(lo, v), math.Max(hi, v), cnt+1
			}
		}
		if cnt != b.n {
			t.Errorf("bucket [%d,%d): n %d, want %d", b.lo, b.hi, b.n, cnt)
		}
		if cnt == 0 {
			if !math.IsNaN(b.min) || !math.IsNaN(b.max) {
				t.Errorf("empty bucket [%d,%d) has min %v max %v", b.lo, b.hi, b.min, b.max)
			}
			continue
		}
		if b.min != lo || b.max != hi || values[b.minAt] != lo || values[b.maxAt] != hi {
			t.Errorf("bucket [%d,%d): min %v max %v, want %v %v", b.lo, b.hi, b.min, b.max, lo, hi)
		}
		if b.leadGap != math.IsNaN(at(values, b.lo)) || b.trailGap != math.IsNaN(at(values, b.hi-1)) {
			t.Errorf("bucket [%d,%d): gap flags %v %v", b.lo, b.hi, b.leadGap, b.trailGap)
		}
	}
	if next != n {
		t.Errorf("buckets end at %d, want %d", next, n)
	}
	// Fewer samples than buckets: one bucket per sample.
	if bs := downsample([]float64{1, 2, 3}, 3, 880); len(bs) != 3 || bs[2].max != 3 {
		t.Errorf("short series: %+v", bs)
	}
}

func TestTimeTicks(t *testing.T) {
	for _, tc := range []struct {
		n     int
		step  time.Duration
		first string
		every time.Duration
	}{
		{20, time.Minute, "00:05", 5 * time.Minute},
		{1440, time.Minute, "03:00", 3 * time.Hour},
		{84000, time.Minute, "Mar 2", 14 * 24 * time.Hour},
		{7 * 1440, time.Minute, "Mar 2", 24 * time.Hour},
	} {
		start := t0.Add(30 * time.Second)
		ts := timeTicks(start, tc.step, tc.n, 8)
		if len(ts) == 0 || len(ts) > 8 {
			t.Errorf("n=%d: %d ticks", tc.n, len(ts))
			continue
		}
		if ts[0].label != tc.first || ts[0].at.Before(start) {
			t.Errorf("n=%d: first tick %v %q, want label %q", tc.n, ts[0].at, ts[0].label, tc.first)
		}
		if len(ts) > 1 && ts[1].at.Sub(ts[0].at) != tc.every {
			t.Errorf("n=%d: ticks every %v, want %v", tc.n, ts[1].at.Sub(ts[0].at), tc.every)
		}
	}
}

func TestWriteCreatesAndReplaces(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	files, err := Write(dir, smallReport())
	if err != nil {
		t.Fatal(err)
	}
	if files.Markdown != filepath.Join(dir, "report.md") || files.HTML != filepath.Join(dir, "report.html") || files.JSON != filepath.Join(dir, "report.json") {
		t.Errorf("files = %+v", files)
	}
	r := smallReport()
	r.Title = "second"
	if _, err := Write(dir, r); err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSON(files.JSON)
	if err != nil || got.Title != "second" {
		t.Errorf("after rewrite: title %q, %v", got.Title, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("%d entries in %s, want 3", len(entries), dir)
	}
}

func TestWriteErrors(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The parent is a regular file: nothing can be created.
	dir := filepath.Join(file, "out")
	if _, err := Write(dir, smallReport()); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("Write under a file: err %v, want one naming %s", err, file)
	}

	// report.html is taken by a non-empty directory: the rename fails, the
	// error names it, and no temporary file is left behind.
	dir = filepath.Join(base, "taken")
	if err := os.MkdirAll(filepath.Join(dir, "report.html", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Write(dir, smallReport())
	if want := filepath.Join(dir, "report.html"); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Write over a directory: err %v, want one naming %s", err, want)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}

	// A read-only directory (root ignores permissions, so skip then).
	if os.Geteuid() == 0 {
		return
	}
	ro := filepath.Join(base, "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(ro, smallReport()); err == nil || !strings.Contains(err.Error(), ro) {
		t.Errorf("Write into a read-only dir: err %v", err)
	}
}

func TestLargeReportSize(t *testing.T) {
	r := syntheticReport(84000)
	files, err := Write(t.TempDir(), r)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{files.HTML, files.Markdown, files.JSON} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes", filepath.Base(p), fi.Size())
		if p == files.HTML && fi.Size() > 2<<20 {
			t.Errorf("report.html is %d bytes, want < 2 MiB", fi.Size())
		}
	}
	b, _ := os.ReadFile(files.HTML)
	doc := string(b)
	if n := strings.Count(doc, "<svg"); n != 3 {
		t.Errorf("%d plots, want 3 (demand, replicas, busiest day)", n)
	}
	// The five-hour outage is a break in the demand line.
	if n := strings.Count(seriesPath(t, doc, "demand"), "M"); n < 2 {
		t.Errorf("demand path has %d moves, want a break at the outage", n)
	}
	// Coordinates stay inside the SVG.
	for _, m := range regexp.MustCompile(`[ML](-?[0-9.]+) (-?[0-9.]+)`).FindAllStringSubmatch(doc, -1) {
		x, _ := strconv.ParseFloat(m[1], 64)
		y, _ := strconv.ParseFloat(m[2], 64)
		if x < 0 || x > plotWidth || y < 0 || y > plotHeight {
			t.Fatalf("point %s %s outside the plot", m[1], m[2])
		}
	}
}

func BenchmarkHTML84k(b *testing.B) {
	r := syntheticReport(84000)
	b.ResetTimer()
	for b.Loop() {
		if _, err := HTML(r); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRenderDegenerate(t *testing.T) {
	allNaN := smallReport()
	for i := range allNaN.Demand.Values {
		allNaN.Demand.Values[i] = math.NaN()
	}
	allNaN.Band = Band{}
	oneScaler := smallReport()
	oneScaler.Sim.Scalers = oneScaler.Sim.Scalers[:1]
	short := smallReport()
	short.Sim.Scalers[1].Pods = short.Sim.Scalers[1].Pods[:5] // shorter than the demand
	short.Sim.Scalers[1].Ready = nil
	for name, r := range map[string]Report{"empty": {}, "all NaN": allNaN, "one scaler": oneScaler, "short pods": short} {
		t.Run(name, func(t *testing.T) {
			files, err := Write(t.TempDir(), r)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ReadJSON(files.JSON); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(files.HTML)
			if strings.Contains(string(b), "NaN") || strings.Contains(string(b), "Inf") {
				t.Errorf("HTML contains NaN or Inf")
			}
		})
	}
	if md := string(Markdown(oneScaler)); strings.Contains(md, " / ") || !strings.Contains(md, "| Metric | hpa |\n") {
		t.Errorf("one scaler: want a table without a ratio column\n%s", md)
	}
}
