// Package pipeline loads a release's verification pipeline (deploy/release.yaml) and turns it
// into goals: checks, such as the services' tests, that must pass before anything is published.
// A release makes every publish goal depend on these nodes, so a failed verification publishes
// nothing.
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
//
// Keys other than these are errors. Every problem is reported with the file, the line and a fix.
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
//
// The built-in kind is shell: run: is a script run with "bash --noprofile --norc -eo pipefail -c"
// (or "sh -ec" without bash) in the repository root, with env: laid over the goal's environment;
// its output goes line by line, prefixed with the goal's name and masked, to the progress writer.
// A verify goal is never "already achieved" at the start of a run: it reports achieved only after
// it has passed in this process.
package pipeline
