# SPDX-License-Identifier: Apache-2.0
# Sourced by the system and e2e tests: how a test says it cannot run here. A skip is decided
# from its cause (a tool absent, not root, an exit code), never from an error message's text.
#
#   uhs_needs REASON      something .ci/deps or CI provides is missing (a tool, root, binfmt,
#                         network namespaces, the Debian mirror, ../shared/fixtures): skipped
#                         (exit 125) on a user's machine, a failure in CI (CI=true), where its
#                         absence means the set-up is broken and the test would prove nothing.
#   uhs_skip REASON       a documented skip that holds in CI too (an e2e boot without a built
#                         image). Keep this list short; the README (Development) lists it.
#   uhs_need_tools T...   uhs_needs for each tool that is not on PATH (or in /usr/sbin, /sbin).
#   uhs_need_root WHY     uhs_needs unless running as root.
#   uhs_need_mirror       uhs_needs when this host's Debian mirror cannot be reached (curl's own
#                         exit code: cannot resolve, cannot connect, timed out); prints nothing
#                         when it answers.

uhs_needs() {
  if [ "${CI:-}" = true ]; then
    echo "FAIL (CI): $* — .ci/deps or CI is meant to provide this, so the test cannot be skipped" >&2
    exit 1
  fi
  echo "skip: $*"
  exit 125
}

uhs_skip() {
  echo "skip: $*"
  exit 125
}

uhs_need_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" > /dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || [ -x "/sbin/$tool" ] ||
      uhs_needs "$tool is not installed (bash .ci/deps)"
  done
}

uhs_need_root() {
  [ "$(id -u)" -eq 0 ] || uhs_needs "needs root: $*"
}

uhs_need_mirror() {
  uhs_need_tools curl apt-get
  local uri
  uri=$(apt-get indextargets --format '$(BASE-URI)InRelease' 'Origin: Debian' 'Created-By: Packages' 2> /dev/null | head -n 1)
  [ -n "$uri" ] || uhs_needs "this host has no Debian APT source with downloaded lists (apt-get update)"
  local rc=0
  curl -fsS -o /dev/null --max-time 30 "$uri" 2> /dev/null || rc=$?
  case $rc in
    0 | 22) ;; # it answered (an HTTP error is the test's to report, not a reason to skip)
    5 | 6 | 7 | 28 | 35 | 56) uhs_needs "the Debian mirror cannot be reached (curl exit $rc for the host's Debian InRelease)" ;;
    *) ;;
  esac
}
