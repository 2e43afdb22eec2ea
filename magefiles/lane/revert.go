package lane

import (
	"context"
	"errors"
	"strings"

	"github.com/shiplane/shiplane/magefiles/revert"
)

// RevertRelease removes what the GitHub release of tag newly published, within revert_window
// (settings, default 1h) after GitHub published it: the component git tags it created, the image
// and chart tags it created (their manifests deleted by the recorded digest, where the registry
// allows it), then the release itself. What an earlier release had already published, and the
// release tag, are kept. It refuses outside the window, when a later release references one of
// those artifacts, or when the release manifest does not record what it first published. It
// prints the plan first; with planOnly it assesses every goal and writes nothing. A re-run after
// a failure or a crash finishes what is left, even after the window closed.
func RevertRelease(ctx context.Context, cfg Config, tag string, planOnly bool) error {
	return annotated(cfg, revertRelease(ctx, cfg, tag, planOnly))
}

func revertRelease(ctx context.Context, cfg Config, tag string, planOnly bool) error {
	tag = strings.TrimSpace(tag)
	if tag == "" {
		return errors.New("revertRelease needs the release tag: go run mage.go revertRelease v1.2.0 (add -plan to see what it would do)")
	}
	ws, err := Open(ctx, cfg)
	if err != nil {
		return err
	}
	r, err := ws.openRelease(ctx, true)
	if err != nil {
		return err
	}
	defer r.cl.disp.Close()
	images := r.policy.Target.Registry + "/"
	charts := strings.TrimPrefix(r.policy.Target.ChartRepo, "oci://") + "/"
	_, rep, err := revert.Revert{
		Input: revert.Input{
			Tag: tag, Window: ws.Settings.RevertWindow.Duration, TagName: componentTagName, Settings: ws.Config.Settings,
			Allowed: func(ref string) bool { return strings.HasPrefix(ref, images) || strings.HasPrefix(ref, charts) },
		},
		Backends: revert.Backends{GitHub: r.cache, Registry: r.cl.reg, Git: revert.Repo{Repo: ws.Repo}, Remote: Remote},
		Progress: r.cl.out, DryRun: planOnly, Workers: ws.Config.Workers,
	}.Run(ctx)
	if rep != nil {
		if ferr := ws.finishRun(rep, r.cl, runOutput{title: "revertRelease " + tag}); err == nil {
			err = ferr
		}
	}
	return r.cl.red.Error(err)
}
