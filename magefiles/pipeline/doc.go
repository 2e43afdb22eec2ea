// Package pipeline loads a release's pipeline file (deploy/release.yaml) and turns it into goals,
// in three sections run in order: verify: (checks, such as the services' tests, that must pass
// before anything is published: a release makes every publish goal depend on them, so a failed
// verification publishes nothing), publish: (the built-in publish goals, which the release makes,
// with goals of the file's own between them) and after_publish: (goals run once everything is
// published).
//
// # The release file
//
//	vars:                                  # optional: named values, resolved once, when used
//	  go_flags: -count=1                   # a plain value
//	  commit: sh!git rev-parse HEAD        # a command's output
//	  user: env!DEPLOY_USER                # an environment variable (an error when unset)
//	  test_flags: env!TEST_FLAGS?-short    # … with a default when unset ("env!X?" = empty)
//	  token: secret!env!DEPLOY_CRED        # declared a secret: masked, kept from goals' env
//	  api_key: |                           # a secret: decrypted with gpg, never printed
//	    -----BEGIN PGP MESSAGE-----
//	    …
//	    -----END PGP MESSAGE-----
//	verify:                                # required: the goals, run in parallel unless ordered
//	  - name: service tests                # required, unique
//	    kind: shell                        # optional, default shell; see Register
//	    run: go test ${var!go_flags} $FLAGS ./services/...  # a reference is one word
//	    env: {CGO_ENABLED: "0", FLAGS: var!test_flags}       # laid over the goal's environment
//	    after: []                          # names of verify goals that must pass first
//	  - name: commit known
//	    run: test -n "${sh!git rev-parse HEAD}"
//	    with: {}                           # kind-specific parameters (the shell kind takes none)
//	publish:                               # optional: the built-ins, all four, in this order
//	  - images                             # a built-in is a bare name (see Builtins)
//	  - name: images signed                # a goal of the file's: runs after what is listed
//	    run: ./scripts/sign.sh             # before it, before what is listed after it
//	  - charts
//	  - component-tags
//	  - github-release
//	after_publish:                         # optional: goals run once everything is published
//	  - name: chat notified
//	    kind: webhook                      # a kind registered in Go (the release's own)
//	    with: {url: secret!env!CHAT_URL}
//	    optional: true                     # a failure fails nothing (default: the kind's)
//	    effectful: true                    # may be "already achieved" (default: the kind's)
//	    enabled: true                      # false: listed, never run
//
// Keys other than these are errors. Every problem is reported with the file, the line and a fix.
// Goal names are unique in the whole file; after: names goals of the same section (the sections
// already run in order).
//
// # Sections
//
// verify: is required (verify: [] for none). publish: is optional: without it the release runs
// the built-ins (images, charts, component-tags, github-release) alone; with it, it must name each
// built-in once, in that order (each publishes what the next references), or it is refused. A
// built-in cannot be turned off or re-implemented here. Pipeline.PublishStages returns the list,
// Pipeline.Nodes the verify goals (component "verify"), Pipeline.AfterPublish the after_publish
// goals (component "after-publish"), and Pipeline.Entries every goal of every section, built-ins,
// defaults and disabled goals included, as a plan lists them. A caller may give a section a
// default goal (WithDefault): it is added unless the file has an entry of its kind there, and an
// entry of that kind with enabled: false turns it off.
//
// # Optional and effectful goals
//
// optional: true makes a goal's failure a report line, "failed (optional: <reason>)", that fails
// nothing and blocks nothing (goal.Node.Optional). effectful: false makes a goal a check: it runs
// in every release and is never "already achieved", whatever its kind's Assess says before it has
// run. effectful: true is refused for a kind that cannot tell whether its effect already holds
// (Kind.Effectful false, as shell). A goal that does not reach its end state reports its own
// reason (the kind's State.Detail), never a generic "not achieved".
//
// # Validating without running
//
// ValidateOnly loads the file as Load does, kinds included, without resolving any reference: no
// sh! command runs, no gpg, no environment variable is read; factories get the values as
// written (Spec.Validating). A plan uses it to list and check the file before anything runs.
//
// # References
//
// A reference is written ${source!argument} anywhere in a run: script or a value, and the whole of
// a value (under vars:, env: or with:) may be a bare source!argument, read as if wrapped in ${…}:
//
//	env!NAME           the environment variable NAME; an error when it is unset
//	env!NAME?          the same, empty when unset
//	env!NAME?default   the same, default when unset (default may hold references)
//	sh!command         the command's stdout, trailing newlines removed, as $(…) does; it runs in
//	                   the repository root with the environment, through the shell goals' shell;
//	                   a failure is an error naming the command, its exit status and its stderr
//	var!name           the var name from vars: (a var may use others; cycles are errors)
//	secret!REF         the env!, sh! or var! reference REF, its value declared a secret (see
//	                   Secrets): secret!env!DEPLOY_CRED, ${secret!sh!vault read -field=pw k}
//
// Inside ${…} braces must balance (${sh!awk '{print $1}' f} works), and a sh! command may itself
// hold references. Only ${ followed by a source name and "!" starts a reference: the shell's own
// ${HOME}, $(cmd) and $$ pass through untouched. $${env!X} writes the literal text ${env!X}. A
// value that must literally begin with env!, sh!, var! or secret! can be produced with
// sh!printf %s '…'.
//
// References are resolved once, by Load, before any goal runs, and only when used: a var nothing
// refers to is never resolved. A value that depends on an earlier goal's work belongs in the
// script itself ($(…)), not in a reference.
//
// A reference in a run: script or a sh! command is never pasted into the text the shell parses:
// the shell sees a variable (SHIPLANE_VALUE_1, SHIPLANE_VALUE_2, … in order, set in the command's
// environment) expanded where the reference stands. A value so reaches the command byte for byte,
// is never run as shell, and is in no command line. Outside quotes a reference is one word, as if
// quoted, or no word when its value is empty (an unset env!FLAGS? adds nothing); inside "…", ${…},
// $((…)) and an unquoted here-document it is part of the text; inside '…' the quotes are closed
// around it. To let the shell split a value into words (a list of flags), pass it through env:
// and write $NAME unquoted. A reference after a backslash, or in a here-document whose delimiter
// is quoted (<<'EOF'), is an error: the shell would not expand it there. env: names starting with
// SHIPLANE_VALUE_ are reserved.
//
// # Secrets
//
// Secrets are declared. A value that is, as a whole, an ASCII-armored PGP message (-----BEGIN PGP
// MESSAGE-----, usually as a YAML block scalar) is decrypted with "gpg --batch --quiet --decrypt"
// (GNUPGHOME from the environment selects the keyring) and is a secret. So is the value of a
// reference written secret!env!NAME, secret!sh!command or secret!var!name, whatever its name and
// however short: as a var (token: secret!env!DEPLOY_CRED), an env: value or inside ${…}. An
// environment variable read as secret!env!NAME is registered before any command runs and is kept
// out of the goals' environment. As a safety net, the values of environment variables, vars and
// env: keys whose names look secret (redact.LooksSecret: TOKEN, PASSWORD, PASSPHRASE, SECRET,
// CREDENTIAL or PRIVATE anywhere, a word that is or ends in KEY, PASS, PWD or AUTH, a word PAT;
// not PWD, OLDPWD, GIT_ASKPASS or SSH_AUTH_SOCK) are secrets too, and so is any var or env: value
// built from a secret; such guessed secrets shorter than four characters, and boolean words, are
// not masked (they would mask ordinary output). Secrets go into a Redactor (the shared redactor of
// package redact, masking with "***"); every output path — goal output, errors, report reasons —
// is masked with it, and the caller can share it (WithRedactor) and Add its own (registry
// passwords, GITHUB_TOKEN).
//
// # What goals run with
//
// Verification goals run without publishing credentials. A goal's environment is the pipeline's
// (see WithEnviron) without GITHUB_TOKEN, GH_TOKEN, REGISTRY_PASSWORD, DOCKER_PASSWORD, any
// variable whose name looks secret (see Secrets), SSH_AUTH_SOCK, DOCKER_AUTH_CONFIG and
// REGISTRY_AUTH_FILE. DOCKER_CONFIG names an empty directory made for each run of the goal and
// removed after it, and HELM_REGISTRY_CONFIG a file in another, so docker and helm find no login.
// A goal that needs a credential asks for it in its env:, which is laid over that environment:
//
//	env: {GITHUB_TOKEN: env!GITHUB_TOKEN, DOCKER_CONFIG: env!DOCKER_CONFIG}
//
// sh! references and gpg run with the whole environment: they are how the file reads its values,
// once, before any goal runs.
//
// # Kinds
//
// A goal kind is a Factory registered under a name: one type implementing goal.Goal plus one line
// (in an init function or TestMain; it returns an error for a name already taken),
//
//	pipeline.Register("lint", newLintGoal)
//	pipeline.RegisterKind("notify", pipeline.Kind{New: newNotify, Effectful: true, Optional: true})
//
// Every kind works in every section. A kind that acts on the caller's world (a release's
// registry, its GitHub release) gets what it needs as Spec.Services (WithServices); the release
// lane registers published-artifacts, release-verified and webhook this way.
//
// The built-in kind is shell: run: is a script run with "bash --noprofile --norc -eo pipefail -c"
// (or "sh -ec" without bash) in the repository root, with env: laid over the goal's environment;
// its output goes line by line, prefixed with the goal's name and masked, to the progress writer.
// A shell goal is a check: never "already achieved" at the start of a run, it reports achieved
// only after it has passed in this process.
package pipeline
