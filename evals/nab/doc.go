// Package nab scores anomaly detectors on the Numenta Anomaly Benchmark
// (NAB), faithfully to NAB's own scorer (nab/sweeper.py and
// nab/optimizer.py), and reads and writes NAB's file layout.
//
// It sits in the measure stage of the pipeline (evals/): it never runs a
// detector itself; `stuurman eval nab` runs forecast's detectors over the
// corpus and hands the per-row scores here.
//
// # How a corpus is scored
//
// A detector emits, for every row of every data file, an anomaly score in
// [0,1]. The labels give each file's anomaly windows as inclusive
// [start, end] timestamps. The first ProbationaryLength(n) rows of a file of
// n rows, floor(0.15·n) capped at 0.15·5000 = 750, are not scored.
//
// A threshold θ turns scores into detections (score ≥ θ). Each row i gets a
// sweep score that depends only on where it lies:
//
//   - inside a window of width w rows whose last row is r:
//     A_TP · σ(−(r − i + 1)/w) / σ(−1), where σ(y) = 2/(1+exp(5y)) − 1 is the
//     scaled sigmoid (σ(y) = −1 for y > 3);
//   - outside every window, after a window of width w' whose last row is r':
//     A_FP · σ(|r' − i| / (w' − 1));
//   - outside every window with no window before it: −A_FP.
//
// A file's score at θ is the sum over its detections outside windows, plus,
// for each window with at least one scorable row, the largest sweep score of
// its detections (the earliest one, since the sigmoid falls through the
// window), or −A_FN when it has none. The corpus score is the sum over
// files.
//
// The threshold is swept over every distinct score value, highest first,
// exactly as NAB's Sweeper does; the best threshold of a profile maximises
// the corpus score (the highest such threshold on a tie). The score is then
// normalised as 100·(S − S_null)/(S_perfect − S_null), with S_null the score
// of a detector that never fires (−A_FN per scorable window) and S_perfect =
// A_TP per window, as NAB's runner does.
//
// The sweep sorts the corpus's rows once and updates the score incrementally
// per threshold, so scoring NAB's 58 files under three profiles takes well
// under a second.
//
// # Example
//
//	windows, _ := nab.ReadWindows("labels/combined_windows.json")
//	profiles, _ := nab.ReadProfiles("profiles.json")
//	c, err := nab.NewCorpus(files, windows, nab.Options{})
//	for _, p := range profiles {
//		r := c.Best(p)
//		fmt.Printf("%s %.2f (threshold %g)\n", p.Name, r.Normalized, r.Threshold)
//	}
package nab
