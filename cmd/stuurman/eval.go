package main

import "github.com/spf13/cobra"

func newEvalCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Measure stuurman: anomaly detection (NAB), forecasts, agents",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newEvalNABCommand(), newEvalForecastCommand(), newEvalAgentsCommand())
	return cmd
}
