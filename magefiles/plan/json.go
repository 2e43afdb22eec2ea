package plan

import (
	"encoding/json"
	"errors"
)

// SchemaVersion is the version of the plan's JSON form (releasePlan -json, SHIPLANE_PLAN_JSON).
// It grows when a field changes meaning or goes away; new fields may appear without it.
const SchemaVersion = 1

// Word is the decision as one word, as the JSON plan writes it: publish, already, refuse,
// blocked, skip.
func (d Decision) Word() string {
	switch d {
	case Publish:
		return "publish"
	case AlreadyPublished:
		return "already"
	case Refuse:
		return "refuse"
	case Blocked:
		return "blocked"
	default:
		return "skip"
	}
}

type jsonPlan struct {
	SchemaVersion int           `json:"schemaVersion"`
	Tag           string        `json:"tag"`
	Commit        string        `json:"commit,omitempty"`
	Levels        [][]jsonEntry `json:"levels"`
	Refusals      []string      `json:"refusals"`
	// PipelineFile and Pipeline are the release file's goals, in the order they run.
	PipelineFile string         `json:"pipelineFile,omitempty"`
	Pipeline     []jsonPipeGoal `json:"pipeline,omitempty"`
	// Signing is "none" (settings signing: none), "sign" (attestation steps are planned),
	// "assessed" (attestation steps are planned, assessed with the committed public key, but this
	// machine cannot sign them: releasePlan without SIGNING_KEY), "unassessed" (no signer and
	// nothing to assess with on this machine: keyless outside GitHub Actions) or left out (the
	// plan does not sign).
	Signing string `json:"signing,omitempty"`
	// HelmProvenance is "none" (no Helm keyring committed), "sign" (a .prov asset per chart
	// archive, signed by this run), "unassessed" (the .prov assets are planned, but this machine
	// has no HELM_SIGNING_KEY) or left out (not a release).
	HelmProvenance string `json:"helmProvenance,omitempty"`
	// Verdict is "publish" (the release may go ahead) or "refuse".
	Verdict string `json:"verdict"`
	Counts  struct {
		Publish int `json:"publish"`
		Already int `json:"already"`
		Blocked int `json:"blocked"`
		Refuse  int `json:"refuse"`
		// Attestations counts the attestation steps (the counts above leave them out).
		Attestations *struct {
			Publish int `json:"publish"`
			Already int `json:"already"`
		} `json:"attestations,omitempty"`
	} `json:"counts"`
}

type jsonPipeGoal struct {
	Section   string   `json:"section"`
	Name      string   `json:"name"`
	Kind      string   `json:"kind,omitempty"`
	Builtin   bool     `json:"builtin,omitempty"`
	Optional  bool     `json:"optional,omitempty"`
	Effectful bool     `json:"effectful,omitempty"`
	Enabled   bool     `json:"enabled"`
	Default   bool     `json:"default,omitempty"`
	After     []string `json:"after,omitempty"`
	// Runs is false for a goal this release does not run; NotRun says why.
	Runs   bool   `json:"runs"`
	NotRun string `json:"notRun,omitempty"`
}

type jsonEntry struct {
	Name    string     `json:"name"`
	Version string     `json:"version"`
	Steps   []jsonStep `json:"steps"`
}

type jsonStep struct {
	Kind   string   `json:"kind"`
	Goal   string   `json:"goal"`
	Ref    string   `json:"ref"`
	Inputs string   `json:"inputs,omitempty"`
	Digest string   `json:"digest,omitempty"`
	After  []string `json:"after,omitempty"`
	// Predicate is an attestation step's kind: signature, sbom or provenance.
	Predicate string `json:"predicate,omitempty"`
	Decision  string `json:"decision"`
	Cause     string `json:"cause,omitempty"`
	Error     string `json:"error,omitempty"`
}

// MarshalJSON writes the plan as data: every level, component and step with its artifact,
// decision (one word) and cause, then the refusals and the verdict.
func (p *Plan) MarshalJSON() ([]byte, error) {
	out := jsonPlan{SchemaVersion: SchemaVersion, Tag: p.Tag, Commit: p.Commit, Levels: [][]jsonEntry{}, Refusals: []string{}, Verdict: "publish"}
	for _, l := range p.Levels {
		var level []jsonEntry
		for _, e := range l {
			je := jsonEntry{Name: e.Name, Version: e.Version, Steps: []jsonStep{}}
			for _, s := range e.Steps {
				js := jsonStep{Kind: s.Kind.String(), Goal: s.Goal, Ref: s.Ref, Inputs: s.Inputs, Digest: s.Digest, After: s.After, Predicate: s.Predicate,
					Decision: s.Decision.Word(), Cause: s.Cause}
				if s.Err != nil {
					js.Error = s.Err.Error()
				}
				je.Steps = append(je.Steps, js)
			}
			level = append(level, je)
		}
		out.Levels = append(out.Levels, level)
	}
	out.PipelineFile = p.PipelineFile
	for _, g := range p.Pipeline {
		runs, why := p.runs(g)
		out.Pipeline = append(out.Pipeline, jsonPipeGoal{Section: g.Section, Name: g.Name, Kind: g.Kind, Builtin: g.Builtin,
			Optional: g.Optional, Effectful: g.Effectful, Enabled: g.Enabled, Default: g.Default, After: g.After, Runs: runs, NotRun: why})
	}
	if err := p.Err(); err != nil {
		out.Verdict = "refuse"
		var re *RefusedError
		if errors.As(err, &re) {
			for _, e := range re.Errs {
				out.Refusals = append(out.Refusals, e.Error())
			}
		}
	}
	out.Counts.Publish, out.Counts.Already = p.Count(Publish), p.Count(AlreadyPublished)
	out.Counts.Blocked, out.Counts.Refuse = p.Count(Blocked), p.Count(Refuse)
	switch {
	case p.Signing == nil:
	case p.Signing.None:
		out.Signing = "none"
	case p.Signing.Unassessed != "":
		out.Signing = "unassessed"
	default:
		out.Signing = "sign"
		if p.Signing.CannotSign != "" {
			out.Signing = "assessed"
		}
		out.Counts.Attestations = &struct {
			Publish int `json:"publish"`
			Already int `json:"already"`
		}{p.CountAttestations(Publish), p.CountAttestations(AlreadyPublished)}
	}
	switch hp := p.HelmProv; {
	case hp == nil:
	case hp.Off:
		out.HelmProvenance = "none"
	case hp.Unassessed != "":
		out.HelmProvenance = "unassessed"
	default:
		out.HelmProvenance = "sign"
	}
	return json.Marshal(out)
}
