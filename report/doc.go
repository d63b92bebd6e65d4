// Package report renders a dry-run report — what stuurman would have done
// beside what the Kubernetes HPA did — as Markdown, self-contained HTML
// with inline SVG plots (no external assets; opens offline) and JSON.
//
// It sits after the actuators: the report actuator records decisions and
// the caller assembles a Report value; this package only renders it.
//
// Write renders all three files into a directory, replacing each
// atomically. Markdown, HTML and JSON render one format in memory; ToJSON
// returns the JSON document as a value (JSONReport) and ReadJSON decodes a
// written report.json. NaN and infinite numbers, which JSON cannot hold,
// are encoded as null through the Float type.
//
// The plots are drawn by the package's own small SVG code: each series is
// downsampled to one bucket per pixel column keeping the bucket's minimum
// and maximum, so spikes survive and an 84,000-sample replay yields a page
// of about a quarter of a megabyte; missing samples (NaN) break the lines
// rather than being drawn as zero.
package report
