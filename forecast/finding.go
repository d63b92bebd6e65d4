package forecast

import "time"

// FindingKind classifies a Finding.
type FindingKind string

// The kinds of findings the model stage emits.
const (
	// FindingAnomaly: an observation far from what the model expected.
	FindingAnomaly FindingKind = "anomaly"
	// FindingForecastBreach: the forecast's upper bound exceeds the
	// capacity currently provisioned within the lead time.
	FindingForecastBreach FindingKind = "forecast_breach"
	// FindingTrendToThreshold: a trend crosses a threshold (memory leak →
	// OOM, disk fill) at ETA.
	FindingTrendToThreshold FindingKind = "trend_to_threshold"
	// FindingRestartStorm: container restarts growing faster than normal.
	FindingRestartStorm FindingKind = "restart_storm"
	// FindingStaleData: the metric source stopped delivering samples.
	FindingStaleData FindingKind = "stale_data"
)

// Severity orders findings by urgency.
type Severity int

// Severities, from least to most urgent.
const (
	SeverityInfo Severity = iota
	SeverityWarning
	SeverityCritical
)

func (s Severity) String() string {
	switch s {
	case SeverityInfo:
		return "info"
	case SeverityWarning:
		return "warning"
	case SeverityCritical:
		return "critical"
	}
	return "unknown"
}

// MarshalText encodes the severity by name, so reports read "warning".
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Finding is something the model stage noticed about a subject. Evidence
// holds numbers, not prose: e.g. {"expected": 120, "observed": 410,
// "robust_z": 7.3}. Summary is a one-line human reading of the evidence.
type Finding struct {
	Kind     FindingKind `json:"kind"`
	Subject  string      `json:"subject"`
	Severity Severity    `json:"severity"`
	// Time is when the finding was made (the time of the last sample used).
	Time     time.Time          `json:"time"`
	Evidence map[string]float64 `json:"evidence,omitempty"`
	Summary  string             `json:"summary"`
	// ETA, for trends: the estimated time until the threshold is crossed,
	// with ETALow/ETAHigh bounding it at Confidence. Zero when not a trend.
	ETA        time.Duration `json:"eta,omitempty"`
	ETALow     time.Duration `json:"eta_low,omitempty"`
	ETAHigh    time.Duration `json:"eta_high,omitempty"`
	Confidence float64       `json:"confidence,omitempty"`
}
