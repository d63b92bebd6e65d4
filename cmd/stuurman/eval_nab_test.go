package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const nabProfiles = `{
"standard": {"CostMatrix": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.11, "tnWeight": 1.0}},
"reward_low_FP_rate": {"CostMatrix": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.22, "tnWeight": 1.0}},
"reward_low_FN_rate": {"CostMatrix": {"tpWeight": 1.0, "fnWeight": 2.0, "fpWeight": 0.11, "tnWeight": 1.0}}
}`

// tinyNAB writes a NAB-layout folder: two categories, one file each, 600
// rows of 5 minutes; a.csv has a jump at row 400 inside its only window.
func tinyNAB(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	write := func(name string, jump bool) {
		var b strings.Builder
		b.WriteString("timestamp,value\n")
		for i := range 600 {
			v := 10 + float64(i%7)/10
			if jump && i >= 400 {
				v += 50
			}
			fmt.Fprintf(&b, "%s,%g\n", start.Add(time.Duration(i)*5*time.Minute).Format(time.DateTime), v)
		}
		p := filepath.Join(dir, "data", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("catA/a.csv", true)
	write("catB/b.csv", false)
	ts := func(i int) string {
		return start.Add(time.Duration(i) * 5 * time.Minute).Format("2006-01-02 15:04:05.000000")
	}
	labels := fmt.Sprintf(`{"catA/a.csv": [["%s", "%s"]], "catB/b.csv": []}`, ts(380), ts(420))
	os.MkdirAll(filepath.Join(dir, "labels"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "labels", "combined_windows.json"), []byte(labels), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "profiles.json"), []byte(nabProfiles), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readScores(t *testing.T, path string) map[string]float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEvalNABTiny(t *testing.T) {
	data := tinyNAB(t)
	out := t.TempDir()
	text, err := run(t, "eval", "nab", "--data", data, "--out", out)
	if err != nil {
		t.Fatalf("eval nab: %v\n%s", err, text)
	}
	for _, want := range []string{"detector stuurman, 2 files, 1 windows", "standard", "reward_low_FN_rate"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	res, err := os.ReadFile(filepath.Join(out, "stuurman", "catA", "stuurman_a.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(res)), "\n")
	if len(lines) != 601 || lines[0] != "timestamp,value,anomaly_score" || !strings.HasPrefix(lines[1], "2024-05-01 00:00:00,10,") {
		t.Fatalf("results: %d lines, %q, %q", len(lines), lines[0], lines[1])
	}
	if _, err := os.Stat(filepath.Join(out, "stuurman", "catB", "stuurman_b.csv")); err != nil {
		t.Error(err)
	}
	got := readScores(t, filepath.Join(out, "scores.json"))
	if len(got) != 3 {
		t.Fatalf("scores.json: %v", got)
	}
	// The jump sits in the middle of the window and is caught at once.
	if got["standard"] < 80 {
		t.Errorf("standard %.2f, want ≥ 80 on an obvious jump", got["standard"])
	}
	// Scoring the written results gives the same figures.
	out2 := t.TempDir()
	if text, err := run(t, "eval", "nab", "--data", data, "--results", filepath.Join(out, "stuurman"), "--out", out2); err != nil {
		t.Fatalf("eval nab --results: %v\n%s", err, text)
	}
	again := readScores(t, filepath.Join(out2, "scores.json"))
	for k, v := range got {
		if math.Abs(again[k]-v) > 1e-9 {
			t.Errorf("%s: %v from the run, %v from its results", k, v, again[k])
		}
	}
}

func TestEvalNABErrors(t *testing.T) {
	data := tinyNAB(t)
	bad := filepath.Join(data, "data", "catB", "b.csv")
	b, _ := os.ReadFile(bad)
	lines := strings.Split(string(b), "\n")
	lines[3] = "2024-05-01 00:10:00,x"
	os.WriteFile(bad, []byte(strings.Join(lines, "\n")), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--data", data, "--out", t.TempDir()}, bad + `:4: value "x"`},
		{[]string{"--data", data}, "give --out"},
		{[]string{"--data", t.TempDir(), "--out", t.TempDir()}, "combined_windows.json"},
		{[]string{"--out", t.TempDir()}, `required flag(s) "data" not set`},
	} {
		_, err := run(t, append([]string{"eval", "nab"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
}

// TestEvalNABReference scores Numenta HTM's published results on the
// development split and checks the official scorer's figures.
func TestEvalNABReference(t *testing.T) {
	root := os.Getenv("STUURMAN_DATA_DIR")
	if root == "" {
		root = filepath.Join("..", "..", "..", "shared", "data")
	}
	data := filepath.Join(root, "nab")
	ref := filepath.Join(data, "reference", "numenta")
	if _, err := os.Stat(ref); err != nil {
		t.Skipf("NAB data absent: %v", err)
	}
	out := t.TempDir()
	text, err := run(t, "eval", "nab", "--data", data, "--results", ref, "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	got := readScores(t, filepath.Join(out, "scores.json"))
	for k, want := range map[string]float64{"standard": 68.58, "reward_low_FP_rate": 62.21, "reward_low_FN_rate": 72.77} {
		if math.Abs(got[k]-want) > 0.005 {
			t.Errorf("%s = %.4f, want %.2f", k, got[k], want)
		}
	}
	if !strings.Contains(text, "detector numenta, 41 files, 69 windows") {
		t.Errorf("output:\n%s", text)
	}
}
