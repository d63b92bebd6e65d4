package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/stuurman/stuurman/controller"
)

type approveFlags struct {
	kubeconfig string
	namespace  string
	as         string
}

// newApproveCommand returns `stuurman approve` (approve true) or `stuurman
// reject`: the same transition and authorization as the Slack buttons,
// for a Kubernetes user.
func newApproveCommand(approve bool) *cobra.Command {
	var f approveFlags
	verb, past := "approve", "approved"
	if !approve {
		verb, past = "reject", "rejected"
	}
	cmd := &cobra.Command{
		Use:   verb + " PROPOSAL -n NAMESPACE [--as USER]",
		Short: fmt.Sprintf("%s a Pending ActionProposal as a Kubernetes user", capitalize(verb)),
		Long: fmt.Sprintf(`%s moves a Pending ActionProposal to %s, exactly once, recording who
(approvedBy "kube:USER") and when — the same transition as the Slack buttons.

The user is the one of the kubeconfig (or, with --as, the impersonated user,
as with kubectl --as). The user must be allowed to update the workload's
scale subresource in the proposal's namespace (checked with an access
review) and to update actionproposals/status; otherwise nothing changes.
A proposal already decided, or expired, does not change either: the command
says who decided it. The controller applies an approved proposal when the
policy's mode is Approve or Auto. See docs/slack.md.`, verb, capitalize(past)),
		Example: fmt.Sprintf(`  stuurman %s web-web-1a2b3c4d -n shop
  stuurman %s web-web-1a2b3c4d -n shop --as alice@example.com`, verb, verb),
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runApprove(cmd, f, args[0], approve)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: in-cluster configuration, else $KUBECONFIG or ~/.kube/config)")
	fl.StringVarP(&f.namespace, "namespace", "n", "", "namespace of the proposal (default: the kubeconfig context's)")
	fl.StringVar(&f.as, "as", "", "user to impersonate, as with kubectl --as")
	return cmd
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

func runApprove(cmd *cobra.Command, f approveFlags, name string, approve bool) error {
	ctx := cmd.Context()
	cfg, err := controllerRESTConfig(f.kubeconfig, 0, 0) // a few requests: client-go's rate limit
	if err != nil {
		return err
	}
	cfg.UserAgent = "stuurman-approve/" + version
	if f.as != "" {
		cfg.Impersonate.UserName = f.as
	}
	ns := f.namespace
	if ns == "" {
		ns = kubeconfigNamespace(f.kubeconfig)
	}
	scheme, err := controller.NewScheme()
	if err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	user, err := whoAmI(ctx, c, f.as)
	if err != nil {
		return err
	}
	a := controller.NewApprover(c, controller.ApproverOptions{Events: &eventWriter{c: c, scheme: scheme, ctx: ctx}})
	out, err := a.DecideAsKubeUser(ctx, controller.KubeSubject{User: user, Self: true}, types.NamespacedName{Namespace: ns, Name: name}, approve)
	if err != nil {
		if errors.Is(err, controller.ErrNotAllowed) {
			return fmt.Errorf("%s: %w; nothing changed", name, err)
		}
		return err
	}
	_, err = fmt.Fprintln(cmd.OutOrStdout(), out.Message)
	return err
}

// whoAmI returns the client's user name, as the API server authenticates
// it (a SelfSubjectReview); as, when the server cannot say.
func whoAmI(ctx context.Context, c client.Client, as string) (string, error) {
	r := &authenticationv1.SelfSubjectReview{}
	if err := c.Create(ctx, r); err != nil {
		if as != "" {
			return as, nil
		}
		return "", fmt.Errorf("who am I (SelfSubjectReview): %w", err)
	}
	if r.Status.UserInfo.Username == "" {
		return "", errors.New("who am I: the API server returned no user name")
	}
	return r.Status.UserInfo.Username, nil
}

// kubeconfigNamespace is the namespace of the kubeconfig's context, or
// "default".
func kubeconfigNamespace(kubeconfig string) string {
	cc := kubeClientConfig(kubeconfig)
	if ns, _, err := cc.Namespace(); err == nil && ns != "" {
		return ns
	}
	return "default"
}

func kubeClientConfig(kubeconfig string) clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
}

// eventWriter records Events synchronously (a command exits right after
// recording one, before an asynchronous recorder would send it). Failures
// are reported on stderr: the decision stands without its Event.
type eventWriter struct {
	c      client.Client
	scheme *runtime.Scheme
	ctx    context.Context
}

var _ events.EventRecorder = (*eventWriter)(nil)

func (w *eventWriter) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	ref, err := w.reference(regarding)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stuurman: event:", err)
		return
	}
	host, _ := os.Hostname()
	ev := &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", ref.Name, time.Now().UnixNano()), Namespace: ref.Namespace},
		EventTime:           metav1.NewMicroTime(time.Now()),
		ReportingController: "stuurman.io/approve",
		ReportingInstance:   "stuurman-approve-" + host,
		Action:              action, Reason: reason, Type: eventtype,
		Note:      truncateNote(fmt.Sprintf(note, args...)),
		Regarding: ref,
	}
	if related != nil {
		if rel, err := w.reference(related); err == nil {
			ev.Related = &rel
		}
	}
	if err := w.c.Create(w.ctx, ev); err != nil {
		fmt.Fprintln(os.Stderr, "stuurman: event:", err)
	}
}

func (w *eventWriter) reference(obj runtime.Object) (corev1.ObjectReference, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return corev1.ObjectReference{}, err
	}
	gvk := obj.GetObjectKind().GroupVersionKind()
	if gvk.Empty() {
		if gvk, err = apiutil.GVKForObject(obj, w.scheme); err != nil {
			return corev1.ObjectReference{}, err
		}
	}
	return corev1.ObjectReference{
		APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind,
		Namespace: m.GetNamespace(), Name: m.GetName(), UID: m.GetUID(), ResourceVersion: m.GetResourceVersion(),
	}, nil
}

func truncateNote(s string) string {
	if len(s) > 1024 {
		return s[:1021] + "..."
	}
	return s
}
