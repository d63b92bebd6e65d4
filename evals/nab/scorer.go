package nab

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"time"
)

// Window is an anomaly window: the rows with Start ≤ time ≤ End.
type Window struct {
	Start, End time.Time
}

// ReadWindows reads NAB's labels/combined_windows.json: for each data file
// (by its name relative to the data folder) the list of [start, end]
// timestamps of its windows.
func ReadWindows(path string) (map[string][]Window, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw map[string][][]string
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make(map[string][]Window, len(raw))
	for name, ws := range raw {
		list := make([]Window, 0, len(ws))
		for i, w := range ws {
			if len(w) != 2 {
				return nil, fmt.Errorf("%s: %s: window %d has %d timestamps, want [start, end]", path, name, i, len(w))
			}
			s, err := ParseTime(w[0])
			if err != nil {
				return nil, fmt.Errorf("%s: %s: window %d: %w", path, name, i, err)
			}
			e, err := ParseTime(w[1])
			if err != nil {
				return nil, fmt.Errorf("%s: %s: window %d: %w", path, name, i, err)
			}
			if e.Before(s) {
				return nil, fmt.Errorf("%s: %s: window %d ends (%s) before it starts (%s)", path, name, i, w[1], w[0])
			}
			list = append(list, Window{s, e})
		}
		out[name] = list
	}
	return out, nil
}

// Costs are a profile's weights: A_TP, A_FP, A_FN (and A_TN, which NAB's
// scorer does not use).
type Costs struct {
	TP float64 `json:"tpWeight"`
	FP float64 `json:"fpWeight"`
	FN float64 `json:"fnWeight"`
	TN float64 `json:"tnWeight"`
}

// Profile is a named scoring profile.
type Profile struct {
	Name  string
	Costs Costs
}

// The names of NAB's three profiles.
const (
	Standard      = "standard"
	RewardLowFP   = "reward_low_FP_rate"
	RewardLowFN   = "reward_low_FN_rate"
	defaultProbat = 0.15
)

// DefaultProfiles returns NAB's three profiles with the weights of its
// profiles.json: standard (A_TP 1, A_FN 1, A_FP 0.11), reward_low_FP_rate
// (1, 1, 0.22) and reward_low_FN_rate (1, 2, 0.11).
func DefaultProfiles() []Profile {
	return []Profile{
		{Standard, Costs{TP: 1, FP: 0.11, FN: 1, TN: 1}},
		{RewardLowFP, Costs{TP: 1, FP: 0.22, FN: 1, TN: 1}},
		{RewardLowFN, Costs{TP: 1, FP: 0.11, FN: 2, TN: 1}},
	}
}

// ReadProfiles reads NAB's profiles.json ({"name": {"CostMatrix": {...}}}).
// NAB's three profiles come first in their usual order, any others after
// them by name.
func ReadProfiles(path string) ([]Profile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw map[string]struct {
		CostMatrix *Costs `json:"CostMatrix"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rank := func(n string) int {
		switch n {
		case Standard:
			return 0
		case RewardLowFP:
			return 1
		case RewardLowFN:
			return 2
		}
		return 3
	}
	out := make([]Profile, 0, len(raw))
	for name, p := range raw {
		if p.CostMatrix == nil {
			return nil, fmt.Errorf("%s: profile %q has no CostMatrix", path, name)
		}
		out = append(out, Profile{name, *p.CostMatrix})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no profile", path)
	}
	sort.Slice(out, func(i, j int) bool {
		ri, rj := rank(out[i].Name), rank(out[j].Name)
		if ri != rj {
			return ri < rj
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// Options tune the scorer. The zero value is NAB's.
type Options struct {
	// ProbationaryPercent is the leading fraction of each file that is not
	// scored. Default 0.15.
	ProbationaryPercent float64
}

// ProbationaryLength returns the number of leading rows of an n-row file
// that are not scored, as NAB computes it:
// min(floor(percent·n), percent·5000); 750 rows at most with the default.
func ProbationaryLength(n int, percent float64) int {
	return int(math.Min(math.Floor(percent*float64(n)), percent*5000))
}

// ScaledSigmoid is NAB's position weight: σ(y) = 2/(1+exp(5y)) − 1 for
// y ≤ 3, and −1 beyond. σ(−1) ≈ 0.98661 (a window's left edge), σ(0) = 0
// (its right edge), σ(1) ≈ −0.98661.
func ScaledSigmoid(y float64) float64 {
	if y > 3 {
		return -1
	}
	return 2/(1+math.Exp(5*y)) - 1
}

// point is one scorable row.
type point struct {
	score float64
	// weight is the row's unweighted sweep score: σ(y)/σ(−1) inside a
	// window (times A_TP), σ(d) or −1 outside (times A_FP).
	weight float64
	// win is the corpus-wide window index, or -1 outside every window.
	win  int32
	file int32
}

type fileInfo struct {
	name                string
	rows, probation     int
	windows, scorableWs int
	// first is the index in Corpus.rows of the file's first scorable row.
	first, n int
	// firstWin is the corpus-wide index of the file's first window.
	firstWin int
}

// Corpus is a detector's results prepared for scoring: for every scorable
// row, its anomaly score and its place relative to the windows. Build it
// once; score it under as many profiles and thresholds as needed.
type Corpus struct {
	files []fileInfo
	// rows holds the scorable rows file by file; sorted the same rows by
	// descending score.
	rows, sorted []point
	// windows counts all windows, scorable those with a scorable row;
	// winScorable flags the latter by corpus-wide index.
	windows, scorable int
	winScorable       []bool
}

// NewCorpus prepares files (each with Times and Scores) for scoring
// against windows, keyed by File.Name. Every file must have an entry in
// windows (an empty list for a file without anomalies).
//
// A window covers the rows from the first one stamped Start to the first
// one stamped End, in file order (see windowRows for windows whose ends are
// not timestamps of the file, which NAB rejects). A window that covers no
// row is an error, and windows must not overlap. Files need not be in time
// order: NAB's own repeat timestamps and, in one file, step back in time.
func NewCorpus(files []File, windows map[string][]Window, opt Options) (*Corpus, error) {
	pct := opt.ProbationaryPercent
	if pct == 0 {
		pct = defaultProbat
	}
	if pct < 0 || pct >= 1 {
		return nil, fmt.Errorf("nab: ProbationaryPercent %v outside [0,1)", pct)
	}
	c := &Corpus{}
	for fi, f := range files {
		if len(f.Scores) != f.Len() {
			return nil, fmt.Errorf("%s: %d anomaly scores for %d rows", f.Name, len(f.Scores), f.Len())
		}
		ws, ok := windows[f.Name]
		if !ok {
			return nil, fmt.Errorf("%s: no entry in the labels", f.Name)
		}
		ws = slices.Clone(ws)
		slices.SortFunc(ws, func(a, b Window) int { return a.Start.Compare(b.Start) })
		info := fileInfo{name: f.Name, rows: f.Len(), probation: ProbationaryLength(f.Len(), pct),
			windows: len(ws), first: len(c.rows), firstWin: c.windows}
		// Row ranges [lo, hi] of the windows.
		lo := make([]int, len(ws))
		hi := make([]int, len(ws))
		for k, w := range ws {
			lo[k], hi[k] = windowRows(f.Times, w)
			if lo[k] > hi[k] {
				return nil, fmt.Errorf("%s: window %d [%s, %s] covers no row", f.Name, k,
					w.Start.Format(time.DateTime), w.End.Format(time.DateTime))
			}
			if k > 0 && lo[k] <= hi[k-1] {
				return nil, fmt.Errorf("%s: windows %d and %d overlap", f.Name, k-1, k)
			}
		}
		c.winScorable = append(c.winScorable, make([]bool, len(ws))...)
		maxTP := ScaledSigmoid(-1)
		k := 0          // next window
		prevRight := -1 // last row of the previous window
		prevWidth := 0  // its width
		for i := 0; i < f.Len(); i++ {
			var p point
			p.score, p.file, p.win = f.Scores[i], int32(fi), -1
			if k < len(ws) && i >= lo[k] {
				width := float64(hi[k] - lo[k] + 1)
				p.weight = ScaledSigmoid(-float64(hi[k]-i+1)/width) / maxTP
				p.win = int32(c.windows + k)
				if i == hi[k] {
					prevRight, prevWidth = i, hi[k]-lo[k]+1
					k++
				}
			} else if prevRight < 0 || prevWidth <= 1 {
				// No window before this row (NAB: "really far away"); a
				// window of one row has no width to measure by.
				p.weight = -1
			} else {
				p.weight = ScaledSigmoid(float64(i-prevRight) / float64(prevWidth-1))
			}
			if i < info.probation {
				continue
			}
			if p.win >= 0 && !c.winScorable[p.win] {
				c.winScorable[p.win] = true
				info.scorableWs++
			}
			c.rows = append(c.rows, p)
		}
		info.n = len(c.rows) - info.first
		c.windows += len(ws)
		c.scorable += info.scorableWs
		c.files = append(c.files, info)
	}
	c.sorted = slices.Clone(c.rows)
	slices.SortStableFunc(c.sorted, func(a, b point) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return 0
	})
	return c, nil
}

// windowRows returns the first and last rows of w in times, as NAB's
// Sweeper finds them: from the first row stamped Start to the first row
// stamped End. NAB's files are not always in time order, so it scans. When
// no row carries an end's exact time, the window starts at the first row at
// or after Start and ends before the first row after End.
func windowRows(times []time.Time, w Window) (lo, hi int) {
	lo, hi = -1, -1
	for i, t := range times {
		if t.Equal(w.Start) {
			lo = i
			break
		}
	}
	if lo < 0 {
		for i, t := range times {
			if !t.Before(w.Start) {
				lo = i
				break
			}
		}
	}
	if lo < 0 {
		return 0, -1
	}
	for i, t := range times[lo:] {
		if t.Equal(w.End) {
			return lo, lo + i
		}
	}
	hi = lo - 1
	for _, t := range times[lo:] {
		if t.After(w.End) {
			break
		}
		hi++
	}
	return lo, hi
}

// Windows returns the number of windows in the corpus and the number of
// them with at least one row after the probationary period.
func (c *Corpus) Windows() (all, scorable int) { return c.windows, c.scorable }

// ThresholdScore is the corpus score at one threshold, with the row counts
// NAB reports (scorable rows only; tp+fp are the detections).
type ThresholdScore struct {
	Threshold      float64
	Score          float64
	TP, TN, FP, FN int
}

// Sweep returns the corpus score at every threshold NAB's Sweeper visits:
// 1.1 (no detection) and then each distinct anomaly score, highest first.
// Each entry counts as detections the rows with score ≥ its threshold.
func (c *Corpus) Sweep(p Profile) []ThresholdScore {
	parts := make([]float64, c.windows)
	for w := range parts {
		parts[w] = -p.Costs.FN
	}
	total := -p.Costs.FN * float64(c.scorable)
	var out []ThresholdScore
	var tp, fp int
	fn := 0
	for _, r := range c.rows {
		if r.win >= 0 {
			fn++
		}
	}
	tn := len(c.rows) - fn
	cur := 1.1
	for _, r := range c.sorted {
		if r.score != cur {
			out = append(out, ThresholdScore{cur, total, tp, tn, fp, fn})
			cur = r.score
		}
		if r.win < 0 {
			fp++
			tn--
			total += r.weight * p.Costs.FP
			continue
		}
		tp++
		fn--
		if s := r.weight * p.Costs.TP; s > parts[r.win] {
			total += s - parts[r.win]
			parts[r.win] = s
		}
	}
	return append(out, ThresholdScore{cur, total, tp, tn, fp, fn})
}

// FileResult is one file's score at a threshold.
type FileResult struct {
	Name  string
	Score float64
	// Windows counts the file's windows, Detected those with a detection.
	Windows, Detected int
	// Row counts, over the scorable rows, as NAB reports them.
	TP, TN, FP, FN int
	Rows           int
}

// Result is a profile's score of the corpus.
type Result struct {
	Profile   string
	Threshold float64
	// Score is the raw score at Threshold: the sum of the files' scores.
	Score float64
	// Null is the score of a detector that never fires (−A_FN per
	// scorable window), Perfect that of one that detects every window at
	// its start (A_TP per window).
	Null, Perfect float64
	// Normalized is 100·(Score − Null)/(Perfect − Null).
	Normalized float64
	Files      []FileResult
}

// Best sweeps the thresholds, picks the one that maximises the corpus score
// (the highest threshold on a tie, as NAB's optimizer does) and scores the
// corpus there.
func (c *Corpus) Best(p Profile) Result {
	sweep := c.Sweep(p)
	best := sweep[0]
	for _, s := range sweep[1:] {
		if s.Score > best.Score {
			best = s
		}
	}
	return c.At(p, best.Threshold)
}

// At scores the corpus at threshold: the rows with score ≥ threshold are
// detections.
func (c *Corpus) At(p Profile, threshold float64) Result {
	r := Result{Profile: p.Name, Threshold: threshold,
		Null: -p.Costs.FN * float64(c.scorable), Perfect: p.Costs.TP * float64(c.windows)}
	best := map[int32]float64{}
	for _, f := range c.files {
		fr := FileResult{Name: f.name, Windows: f.windows, Rows: f.rows}
		clear(best)
		fp := 0.0
		for _, row := range c.rows[f.first : f.first+f.n] {
			hit := row.score >= threshold
			switch {
			case row.win < 0 && hit:
				fr.FP++
				fp += row.weight * p.Costs.FP
			case row.win < 0:
				fr.TN++
			case hit:
				fr.TP++
				s := row.weight * p.Costs.TP
				if b, ok := best[row.win]; !ok || s > b {
					best[row.win] = s
				}
			default:
				fr.FN++
			}
		}
		for w := f.firstWin; w < f.firstWin+f.windows; w++ {
			if !c.winScorable[w] {
				continue
			}
			part := -p.Costs.FN
			if b, ok := best[int32(w)]; ok {
				fr.Detected++
				part = max(part, b)
			}
			fr.Score += part
		}
		fr.Score += fp
		r.Score += fr.Score
		r.Files = append(r.Files, fr)
	}
	if d := r.Perfect - r.Null; d != 0 {
		r.Normalized = 100 * (r.Score - r.Null) / d
	}
	return r
}
