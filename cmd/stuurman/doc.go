// Command stuurman scales and heals Kubernetes workloads before they hurt.
//
// It is the one place that builds concrete types and connects the pipeline's
// stages (metrics → forecast → agents → policies → actuators). Subcommands:
//
//	stuurman recommend --trace FILE --out DIR           dry-run report on a recorded trace
//	stuurman recommend --prometheus URL --out DIR ...   the same for a live cluster's workloads
//	stuurman controller --prometheus-url URL            the in-cluster controller
//	stuurman eval forecast|nab|agents ...               measure forecasts, anomaly detection, agents
//	stuurman version                                    print the version
//
// Run `stuurman help COMMAND` for the flags of each.
package main
