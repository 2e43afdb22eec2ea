// Package ci holds no code: its tests keep the repository's GitHub workflows
// (.github/workflows/*.yml) sound, so that a broken or loosened workflow fails the tests, and so CI,
// before it ever runs on GitHub.
//
//   - actionlint v1.7.12 finds no problem in any workflow. It runs shellcheck on the run: scripts
//     when shellcheck is on PATH (GitHub's runners have it). It is installed from its own module
//     (`go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12`, from the module proxy the
//     first time and from the module and build caches after that) rather than required in go.mod:
//     it is written against go.yaml.in/yaml/v4 v4.0.0-rc.3, whose API changed by rc.6, the version
//     this module needs for the Compose SDK, so it does not compile in this module's build list.
//   - Every uses: names an action by the full 40-hex commit SHA, with the release it is in a
//     comment ("uses: actions/checkout@<sha> # v4.2.2"); a local action (./…) needs none, and a
//     docker:// image needs a sha256 digest.
//   - No run: script holds a ${{ }} expression, a secret least of all: values reach the shell
//     through env:, so that nothing is spliced into the script's text.
//   - The job that runs releaseAll runs in the "release" environment, logs in to the registry with
//     --password-stdin, and lower-cases the registry path it builds from the repository name.
//   - The repository's bash scripts (.ci/run, scripts/bench, scripts/setup-docker.sh) parse
//     (bash -n), and pass shellcheck when it is on PATH. scripts/bench itself is not run: it takes
//     minutes and its figures need an idle machine.
//   - The README's ```sh blocks run as written, in order, in a fresh clone at HEAD
//     (scripts/readme-blocks, the program in readmeblocks), against a second dockerd of the test's
//     own and inside its network namespace; the `go run mage.go -l` transcript equals the real
//     listing.
//
// Each check is also run on a deliberately broken workflow or script, which it must fail.
package ci
