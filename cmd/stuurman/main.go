package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "stuurman:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "stuurman",
		Short: "Scale and heal Kubernetes workloads before they hurt",
		Long: `stuurman forecasts each workload's demand from its metrics, asks an agent to
propose actions, gates every proposal through a deterministic policy engine,
and acts — or, as here on recorded data, writes a dry-run report of what it
would have done beside what the Kubernetes HPA would have done.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRecommendCommand(), newEvalCommand(), newControllerCommand(),
		newApproveCommand(true), newApproveCommand(false), newVersionCommand())
	return root
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print stuurman's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "stuurman", version)
			return err
		},
	}
}
