// Package actuators is the act stage of the stuurman pipeline: it carries
// out policies.Decisions and reports what was done as Results.
//
// The first actuator is Recorder, the dry run: it records every decision
// and changes nothing. Actuators with side effects (the Kubernetes scale
// subresource, Slack approval) implement the same Apply method.
package actuators
