// Package report renders a dry-run report — what stuurman would have done
// beside what the Kubernetes HPA did — as Markdown, self-contained HTML
// with inline SVG plots (no external assets; opens offline) and JSON.
//
// It sits after the actuators: the report actuator records decisions and
// the caller assembles a Report value; this package only renders it.
package report
