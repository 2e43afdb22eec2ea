package attest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	prov "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// ProvenancePredicateType is SLSA v1 provenance (cosign's "slsaprovenance1").
const ProvenancePredicateType = "https://slsa.dev/provenance/v1"

// Build types: what kind of artifact a provenance statement describes.
const (
	BuildTypeImage = "https://github.com/shiplane/shiplane/buildtypes/container-image/v1"
	BuildTypeChart = "https://github.com/shiplane/shiplane/buildtypes/helm-chart/v1"
)

// LocalBuilderID is the builder id of a build outside GitHub Actions (a laptop, another CI).
const LocalBuilderID = "https://github.com/shiplane/shiplane/builders/local"

// GitHubActions is what a provenance statement records of the GitHub Actions run that built the
// artifact. Read it once with GitHubActionsFromEnv.
type GitHubActions struct {
	ServerURL   string // GITHUB_SERVER_URL, e.g. https://github.com
	Repository  string // GITHUB_REPOSITORY, owner/name
	WorkflowRef string // GITHUB_WORKFLOW_REF, owner/name/.github/workflows/release.yml@refs/tags/v1.2.0
	RunID       string // GITHUB_RUN_ID
	RunAttempt  string // GITHUB_RUN_ATTEMPT
}

// GitHubActionsFromEnv reads the run through getenv (os.Getenv in a target): nil unless
// GITHUB_ACTIONS is "true" and the workflow ref and run id are set.
func GitHubActionsFromEnv(getenv func(string) string) *GitHubActions {
	if getenv("GITHUB_ACTIONS") != "true" || getenv("GITHUB_WORKFLOW_REF") == "" || getenv("GITHUB_RUN_ID") == "" {
		return nil
	}
	server := getenv("GITHUB_SERVER_URL")
	if server == "" {
		server = "https://github.com"
	}
	return &GitHubActions{
		ServerURL: strings.TrimSuffix(server, "/"), Repository: getenv("GITHUB_REPOSITORY"),
		WorkflowRef: getenv("GITHUB_WORKFLOW_REF"), RunID: getenv("GITHUB_RUN_ID"), RunAttempt: getenv("GITHUB_RUN_ATTEMPT"),
	}
}

// BuilderID is the workflow file at its ref: <server>/<owner>/<name>/.github/workflows/<file>@<ref>.
func (g *GitHubActions) BuilderID() string { return g.ServerURL + "/" + g.WorkflowRef }

// RunURL is the run's attempt page: <server>/<repo>/actions/runs/<id>/attempts/<attempt>.
func (g *GitHubActions) RunURL() string {
	u := g.ServerURL + "/" + g.Repository + "/actions/runs/" + g.RunID
	if g.RunAttempt != "" {
		u += "/attempts/" + g.RunAttempt
	}
	return u
}

// ProvenanceInput is everything a provenance statement says. The caller reads the environment
// and the repository once and passes the values; Provenance reads nothing else.
type ProvenanceInput struct {
	// SubjectName is the artifact's name, e.g. "registry.example/core" (required).
	SubjectName string
	// SubjectDigest is the artifact's digest, "sha256:<hex>" (required).
	SubjectDigest string
	// BuildType is BuildTypeImage or BuildTypeChart. Default: BuildTypeImage.
	BuildType string
	// SourceRepository is the source's URL, e.g. https://github.com/owner/name (required).
	SourceRepository string
	// Commit is the full commit id the artifact was built from (required).
	Commit string
	// Component, Version and InputsKey identify the component and its inputs (git tree hash).
	Component, Version, InputsKey string
	// Platforms the artifact was built for, e.g. linux/amd64. Default: none recorded.
	Platforms []string
	// Dockerfile is the Dockerfile's path in the repository. Default: none recorded.
	Dockerfile string
	// BaseImage and BaseImageDigest name the image built FROM ("" when FROM scratch).
	BaseImage, BaseImageDigest string
	// GoVersion is the Go toolchain that compiled the binaries, e.g. go1.26.8. Default: none.
	GoVersion string
	// GitHub is the Actions run, nil for a build outside GitHub Actions (LocalBuilderID).
	GitHub *GitHubActions
}

// ErrIncompleteInput is returned (wrapped) when a required ProvenanceInput field is empty.
var ErrIncompleteInput = errors.New("incomplete provenance input")

// Provenance returns the in-toto v1 statement carrying SLSA v1 provenance for in, as JSON with
// sorted keys: the same input always gives the same bytes (there are no timestamps).
func Provenance(in ProvenanceInput) ([]byte, error) {
	for field, v := range map[string]string{
		"SubjectName": in.SubjectName, "SubjectDigest": in.SubjectDigest,
		"SourceRepository": in.SourceRepository, "Commit": in.Commit,
	} {
		if v == "" {
			return nil, fmt.Errorf("provenance: %s is empty: %w", field, ErrIncompleteInput)
		}
	}
	algo, hexDigest, ok := strings.Cut(in.SubjectDigest, ":")
	if !ok || hexDigest == "" {
		return nil, fmt.Errorf("provenance: subject digest %q is not algorithm:hex: %w", in.SubjectDigest, ErrIncompleteInput)
	}
	buildType := in.BuildType
	if buildType == "" {
		buildType = BuildTypeImage
	}

	ext := map[string]any{
		"source": map[string]any{"repository": in.SourceRepository, "commit": in.Commit},
	}
	for k, v := range map[string]string{"component": in.Component, "version": in.Version, "inputsKey": in.InputsKey, "dockerfile": in.Dockerfile} {
		if v != "" {
			ext[k] = v
		}
	}
	if len(in.Platforms) > 0 {
		ps := slices.Clone(in.Platforms)
		slices.Sort(ps)
		list := make([]any, len(ps))
		for i, p := range ps {
			list[i] = p
		}
		ext["platforms"] = list
	}
	extStruct, err := structpb.NewStruct(ext)
	if err != nil {
		return nil, fmt.Errorf("provenance: external parameters: %w", err)
	}

	deps := []*intoto.ResourceDescriptor{{
		Uri: "git+" + in.SourceRepository, Digest: map[string]string{"gitCommit": in.Commit},
	}}
	if in.BaseImageDigest != "" {
		balgo, bhex, _ := strings.Cut(in.BaseImageDigest, ":")
		deps = append(deps, &intoto.ResourceDescriptor{
			Name: "base-image", Uri: "oci://" + in.BaseImage, Digest: map[string]string{balgo: bhex},
		})
	}
	if in.GoVersion != "" {
		deps = append(deps, &intoto.ResourceDescriptor{
			Name: "go-toolchain", Uri: "pkg:golang/toolchain@" + in.GoVersion,
		})
	}

	builder := &prov.Builder{Id: LocalBuilderID}
	var meta *prov.BuildMetadata
	if in.GitHub != nil {
		builder.Id = in.GitHub.BuilderID()
		meta = &prov.BuildMetadata{InvocationId: in.GitHub.RunURL()}
	}

	predicate := &prov.Provenance{
		BuildDefinition: &prov.BuildDefinition{
			BuildType: buildType, ExternalParameters: extStruct, ResolvedDependencies: deps,
		},
		RunDetails: &prov.RunDetails{Builder: builder, Metadata: meta},
	}
	predStruct, err := toStruct(predicate)
	if err != nil {
		return nil, fmt.Errorf("provenance: predicate: %w", err)
	}
	st := &intoto.Statement{
		Type:          intoto.StatementTypeUri,
		Subject:       []*intoto.ResourceDescriptor{{Name: in.SubjectName, Digest: map[string]string{algo: hexDigest}}},
		PredicateType: ProvenancePredicateType,
		Predicate:     predStruct,
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	return canonicalJSON(st)
}

// Statement wraps predicate (JSON) in an in-toto v1 statement about one subject, as JSON with
// sorted keys. Use it for the SBOM: Statement(name, digest, SBOMPredicateType, sbom).
func Statement(subjectName, subjectDigest, predicateType string, predicate []byte) ([]byte, error) {
	algo, hexDigest, ok := strings.Cut(subjectDigest, ":")
	if !ok || hexDigest == "" || subjectName == "" {
		return nil, fmt.Errorf("statement: subject %q@%q: %w", subjectName, subjectDigest, ErrIncompleteInput)
	}
	var p structpb.Struct
	if err := protojson.Unmarshal(predicate, &p); err != nil {
		return nil, fmt.Errorf("statement: predicate is not a JSON object: %w", err)
	}
	st := &intoto.Statement{
		Type:          intoto.StatementTypeUri,
		Subject:       []*intoto.ResourceDescriptor{{Name: subjectName, Digest: map[string]string{algo: hexDigest}}},
		PredicateType: predicateType,
		Predicate:     &p,
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	return canonicalJSON(st)
}

// ProvenanceSummary is what a verifier checks in a provenance statement.
type ProvenanceSummary struct {
	SubjectDigests []string // "sha256:<hex>", sorted
	BuilderID      string
	BuildType      string
	Repository     string
	Commit         string
	InputsKey      string
}

// ParseProvenance reads a statement Provenance made (or any SLSA v1 provenance statement with
// externalParameters.source.commit).
func ParseProvenance(statement []byte) (*ProvenanceSummary, error) {
	var st intoto.Statement
	if err := protojson.Unmarshal(statement, &st); err != nil {
		return nil, fmt.Errorf("reading the provenance statement: %w", err)
	}
	if st.GetPredicateType() != ProvenancePredicateType {
		return nil, fmt.Errorf("predicate type %q is not %s: %w", st.GetPredicateType(), ProvenancePredicateType, ErrNotProvenance)
	}
	raw, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return nil, fmt.Errorf("reading the provenance predicate: %w", err)
	}
	var p prov.Provenance
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("reading the provenance predicate: %w", err)
	}
	s := &ProvenanceSummary{
		BuilderID: p.GetRunDetails().GetBuilder().GetId(),
		BuildType: p.GetBuildDefinition().GetBuildType(),
	}
	ext := p.GetBuildDefinition().GetExternalParameters().AsMap()
	if src, ok := ext["source"].(map[string]any); ok {
		s.Repository, _ = src["repository"].(string)
		s.Commit, _ = src["commit"].(string)
	}
	s.InputsKey, _ = ext["inputsKey"].(string)
	for _, sub := range st.GetSubject() {
		for algo, h := range sub.GetDigest() {
			s.SubjectDigests = append(s.SubjectDigests, algo+":"+h)
		}
	}
	slices.Sort(s.SubjectDigests)
	return s, nil
}

// ErrNotProvenance is returned (wrapped) by ParseProvenance for a statement of another type.
var ErrNotProvenance = errors.New("not SLSA v1 provenance")

// toStruct converts a protobuf message to a structpb.Struct through its JSON form.
func toStruct(m proto.Message) (*structpb.Struct, error) {
	raw, err := protojson.Marshal(m)
	if err != nil {
		return nil, err
	}
	var s structpb.Struct
	if err := protojson.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// canonicalJSON renders a message as indented JSON with sorted keys: protojson's own output
// varies its whitespace on purpose, so it is re-encoded through encoding/json.
func canonicalJSON(m proto.Message) ([]byte, error) {
	raw, err := protojson.Marshal(m)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
