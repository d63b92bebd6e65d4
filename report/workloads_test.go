package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func twoWorkloads() Workloads {
	a, b := smallReport(), smallReport()
	b.Sim.Scalers[0].Metrics.ReplicaHours = 50
	b.Sim.Scalers[1].Metrics.ReplicaHours = 57
	b.Findings = nil
	return Workloads{
		Title:      "stuurman dry run: 2 workloads",
		Source:     "prometheus http://prom:9090",
		Generated:  time.Date(2024, 3, 2, 9, 30, 0, 0, time.UTC),
		Parameters: []Parameter{{Name: "window", Value: "14d"}},
		Workloads: []WorkloadReport{
			{Kind: "Deployment", Namespace: "shop", Name: "web", Report: a},
			{Kind: "StatefulSet", Namespace: "shop", Name: "db<1>", Report: b},
		},
		Skipped: []SkippedWorkload{{Kind: "Deployment", Namespace: "shop", Name: "idle", Reason: "no samples in the window"}},
	}
}

func TestWorkloadsJSON(t *testing.T) {
	m := twoWorkloads()
	files, err := WriteWorkloads(t.TempDir(), m)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(files.JSON)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	wantKeys(t, "top level", doc, "title", "source", "generated", "parameters", "summary", "workloads", "skipped")
	ws := doc["workloads"].([]any)
	if len(ws) != 2 {
		t.Fatalf("%d workloads", len(ws))
	}
	// Each workload is the single-trace report.json plus its identity.
	single, err := JSON(m.Workloads[0].Report)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal(single, &want); err != nil {
		t.Fatal(err)
	}
	want["kind"], want["namespace"], want["name"] = "Deployment", "shop", "web"
	got, _ := json.Marshal(ws[0])
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(got, wantJSON) {
		t.Errorf("workloads[0] =\n%s\nwant\n%s", got, wantJSON)
	}

	r, err := ReadWorkloadsJSON(files.JSON)
	if err != nil {
		t.Fatal(err)
	}
	s := r.Summary
	if s.Workloads != 2 || s.Skipped != 1 || s.Findings != 1 || s.Decisions != 4 || s.DecisionCount != 34 || len(s.Scalers) != 2 {
		t.Fatalf("summary %+v", s)
	}
	if s.Scalers[0].Name != "hpa" || s.Scalers[0].ReplicaHours != 150 || s.Scalers[1].ReplicaHours != 150 || s.Scalers[1].Actions != 14 || s.Scalers[0].SLOViolationMinutes != 61 {
		t.Errorf("totals %+v", s.Scalers)
	}
	if s.Comparison == nil || s.Comparison.ReplicaHoursRatio != 1 || s.Comparison.Candidate != "stuurman" {
		t.Errorf("comparison %+v", s.Comparison)
	}
	if r.Workloads[1].Name != "db<1>" || r.Workloads[1].Kind != "StatefulSet" || len(r.Workloads[1].Scalers) != 2 || r.Skipped[0].Reason == "" {
		t.Errorf("decoded %+v", r.Workloads[1])
	}

	empty, err := WorkloadsJSON(Workloads{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"workloads": []`, `"skipped": []`, `"scalers": []`, `"comparison": null`} {
		if !bytes.Contains(empty, []byte(want)) {
			t.Errorf("empty report lacks %s:\n%s", want, empty)
		}
	}
}

func TestWorkloadsMarkdownAndHTML(t *testing.T) {
	m := twoWorkloads()
	md := string(WorkloadsMarkdown(m))
	for _, want := range []string{
		"# stuurman dry run: 2 workloads\n",
		"**Over all 2 workloads: stuurman used 1.00× the HPA's replica-hours",
		"## Summary\n\n| Workload | Samples (gaps) | hpa replica-hours | stuurman replica-hours |",
		"| Deployment shop/web | 20 (2) | 100.0 | 93.0 |",
		"| StatefulSet shop/db&lt;1&gt; | 20 (2) | 50.0 | 57.0 |",
		"| Total (2 workloads) | 40 (4) | 150.0 | 150.0 |",
		"## Skipped\n", "| Deployment shop/idle | no samples in the window |",
		"## Deployment shop/web\n", "### Results\n", "### Decisions\n",
		"## StatefulSet shop/db&lt;1&gt;\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if strings.Contains(md, "\n# Deployment") || strings.Count(md, "Generated:") != 1 {
		t.Errorf("a workload's section is not one level down, or repeats the time:\n%s", md)
	}

	doc, err := WorkloadsHTML(m)
	if err != nil {
		t.Fatal(err)
	}
	h := string(doc)
	for _, want := range []string{
		`<h2 id="summary">Summary</h2>`, `<a href="#w1">Deployment shop/web</a>`, `<a href="#w2">StatefulSet shop/db&lt;1&gt;</a>`,
		`<tr class="total"><td>Total (2 workloads)</td>`,
		`<section class="workload" id="w1">`, `<h2>StatefulSet shop/db&lt;1&gt;</h2>`, "<svg",
	} {
		if !strings.Contains(h, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if strings.Contains(h, "<script") || regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(h) {
		t.Error("report.html is not self-contained")
	}
	if strings.Count(h, "<svg") < 4 {
		t.Errorf("%d plots, want two per workload", strings.Count(h, "<svg"))
	}
}

// TestWorkloadSectionIsTheSingleReport checks that a workload's section of
// a multi-workload report renders the same sections as the workload's own
// single-trace report, one heading level down. The only differences are
// in what the page around it shows: the generation time and, in HTML, the
// note under the metrics table.
func TestWorkloadSectionIsTheSingleReport(t *testing.T) {
	r := smallReport()
	r.Title = "Deployment shop/web" // the title section() gives it
	m := Workloads{Workloads: []WorkloadReport{{Kind: "Deployment", Namespace: "shop", Name: "web", Report: r}}}
	between := func(doc, from, to string) string {
		t.Helper()
		_, after, ok := strings.Cut(doc, from)
		body, _, ok2 := strings.Cut(after, to)
		if !ok || !ok2 {
			t.Fatalf("no %q … %q in\n%s", from, to, doc)
		}
		return body
	}

	single, err := HTML(r)
	if err != nil {
		t.Fatal(err)
	}
	multi, err := WorkloadsHTML(m)
	if err != nil {
		t.Fatal(err)
	}
	body := between(string(single), "<body>\n", "\n</body>")
	section := between(string(multi), `<section class="workload" id="w1">`+"\n", "\n"+`<p class="note"><a href="#summary">`)
	body = regexp.MustCompile(`<p class="meta">Generated: [^<]*</p>\n|<p class="note">Replica-hours [^<]*</p>\n`).ReplaceAllString(body, "")
	heading := regexp.MustCompile(`<(/?)h([1-3])>`)
	body = heading.ReplaceAllStringFunc(body, func(tag string) string {
		m := heading.FindStringSubmatch(tag)
		return fmt.Sprintf("<%sh%c>", m[1], m[2][0]+1)
	})
	if body != section {
		t.Errorf("HTML: the workload's section differs from its report's page one level down:\n%s\n---- want ----\n%s", section, body)
	}
	for _, h := range []string{"<h2>Deployment shop/web</h2>", "<h3>Parameters</h3>", "<h3>Results</h3>", "<h4>Replicas</h4>", "<h3>Forecast</h3>", "<h3>Findings</h3>", "<h3>Decisions</h3>"} {
		if !strings.Contains(section, h) {
			t.Errorf("HTML: the workload's section lacks %s", h)
		}
	}

	md := string(Markdown(r))
	md = regexp.MustCompile(`(?m)^Generated: .*\n`).ReplaceAllString(md, "")
	md = regexp.MustCompile(`(?m)^#`).ReplaceAllString(md, "##")
	// The section is last, followed by a blank line.
	_, rest, _ := strings.Cut(string(WorkloadsMarkdown(m)), "\n\n## Deployment shop/web\n")
	if got := "## Deployment shop/web\n" + rest; got != md+"\n" {
		t.Errorf("Markdown: the workload's section differs from its report one level down:\n%s\n---- want ----\n%s", got, md)
	}
}

// TestWorkloadsMarkdownLeavesTextAlone checks that text in a workload's
// section that starts a line with "#" is not taken for a heading and
// pushed a level down.
func TestWorkloadsMarkdownLeavesTextAlone(t *testing.T) {
	r := smallReport()
	r.Source = "query\n# not a heading"
	r.Forecast.Note = "line one\n## nor this"
	md := string(WorkloadsMarkdown(Workloads{Workloads: []WorkloadReport{{Kind: "Deployment", Namespace: "shop", Name: "web", Report: r}}}))
	for _, want := range []string{"\n# not a heading  \n", "\n## nor this\n", "\n### Results\n"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
}
