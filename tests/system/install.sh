#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `cmake --install` lays out a complete tool: the installed programs find the installed
# overlays with the checkout out of reach (no source path in them), the examples validate and
# plan, the man pages and completions are well-formed and list every command and option that
# `--help` prints.
set -u
uhs_image=$1 source_dir=$2 build_dir=$3 cmake=${4:-cmake}
. "$(dirname "${BASH_SOURCE[0]}")/../lib/skip.sh"
# man-db and zsh come with .ci/deps: without them the pages and the zsh completion go
# unchecked on a user's machine, and CI fails.
uhs_need_tools man zsh
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
check() { # check DESCRIPTION EXPECTED_CODE COMMAND... ; output is in $out
  local description=$1 expected=$2; shift 2
  out=$("$@" 2>&1); local code=$?
  if [ "$code" -ne "$expected" ]; then
    fail "$description: exit $code, expected $expected"; echo "$out" | sed 's/^/  | /'
  fi
}
contains() { # contains DESCRIPTION TEXT
  grep -qF -- "$2" <<<"$out" || { fail "$1: output lacks '$2'"; echo "$out" | sed 's/^/  | /'; }
}

# Resolved: the programs see their own path through /proc/self/exe, links resolved.
scratch=$(cd "$(mktemp -d)" && pwd -P)
trap 'rm -rf "$scratch"' EXIT
prefix=$scratch/usr
if ! "$cmake" --install "$build_dir" --prefix "$prefix" >"$scratch/install.log" 2>&1; then
  cat "$scratch/install.log"; echo "FAIL: cmake --install"; exit 1
fi

for f in bin/uhs-image bin/uhs-netboot share/uhs/overlays/base \
  share/doc/uhs/examples/configs/super6c-cm5.yaml \
  share/doc/uhs/examples/configs/keyrings/kubernetes-apt-keyring.gpg \
  lib/systemd/system/uhs-netboot.service lib/sysusers.d/uhs-netboot.conf \
  share/man/man1/uhs-image.1 share/man/man5/uhs-cluster.5 share/man/man8/uhs-netboot.8 \
  share/bash-completion/completions/uhs-image share/bash-completion/completions/uhs-netboot \
  share/zsh/vendor-completions/_uhs-image share/zsh/vendor-completions/_uhs-netboot; do
  [ -e "$prefix/$f" ] || fail "not installed: $f"
done
# Nothing of the build machine's tools: uhs-docgen stays in the build tree.
[ ! -e "$prefix/bin/uhs-docgen" ] || fail "uhs-docgen is installed"
# The overlays as they are in the checkout: same files, modes and symlinks (the image-id
# hashes them).
listing() { (cd "$1" && find . -printf '%p %y %m %l\n' | LC_ALL=C sort); }
if [ "$(listing "$source_dir/overlays")" != "$(listing "$prefix/share/uhs/overlays")" ]; then
  fail "installed overlays differ from overlays/"
  diff <(listing "$source_dir/overlays") <(listing "$prefix/share/uhs/overlays") | head | sed 's/^/  | /'
fi
# No path of the checkout compiled in (overlay lookup, __FILE__, debug info).
for program in uhs-image uhs-netboot; do
  count=$(grep -c -a -F -- "$source_dir" "$prefix/bin/$program")
  [ "$count" = 0 ] || fail "bin/$program holds the source path $source_dir ($count lines)"
  count=$(grep -c -a -F -- "$(cd "$build_dir" && pwd)" "$prefix/bin/$program")
  [ "$count" = 0 ] || fail "bin/$program holds the build path $build_dir ($count lines)"
done

# The installed tool on a copy of the example, from elsewhere, with nothing in the environment
# that could lead it to the checkout.
cp -r "$prefix/share/doc/uhs/examples/configs" "$scratch/cfg"
mkdir -p "$scratch/home"
run() { (cd "$scratch" && env -i PATH=/usr/bin:/bin HOME="$scratch/home" "$@"); }
check "installed validate" 0 run "$prefix/bin/uhs-image" validate cfg/super6c-cm5.yaml
contains "installed validate" "cfg/super6c-cm5.yaml: ok (6 nodes)"
check "installed plan" 0 run "$prefix/bin/uhs-image" plan cfg/super6c-cm5.yaml --json
installed_overlays=$(jq -r '.inputs.overlays[] | "\(.name) \(.path) \(.sha256)"' <<<"$out")
build_overlays=$(cd "$source_dir" && "$uhs_image" plan configs/super6c-cm5.yaml --json |
  jq -r '.inputs.overlays[] | "\(.name) \(.path) \(.sha256)"')
for overlay in base containerd kubelet nfsroot iscsi-state bootloader-report; do
  grep -qF "$overlay $prefix/share/uhs/overlays/$overlay " <<<"$installed_overlays" ||
    fail "plan does not take $overlay from the installed overlays: $installed_overlays"
done
# The same trees: the installed overlays hash as the checkout's do (so the same image-id).
[ -n "$build_overlays" ] && [ "$(awk '{ print $1, $3 }' <<<"$installed_overlays")" = \
  "$(awk '{ print $1, $3 }' <<<"$build_overlays")" ] ||
  fail "installed overlays hash differently: $installed_overlays / $build_overlays"
check "installed netboot check" 0 run "$prefix/bin/uhs-netboot" check cfg/super6c-cm5.yaml
contains "installed netboot check" "cm5-6 (slot 6, 192.168.50.16): tftp a1b2c306/"
# Without its overlays the installed tool finds none (it does not fall back to the checkout).
cp -a "$prefix" "$scratch/bare" && rm -rf "$scratch/bare/share/uhs/overlays"
check "no installed overlays" 2 run "$scratch/bare/bin/uhs-image" validate cfg/super6c-cm5.yaml
contains "no installed overlays" "overlay 'base' not found in $scratch/bare/share/uhs/overlays"

# Man pages: man-db's checks when it is there, else the sections by hand.
man1=$prefix/share/man/man1/uhs-image.1 man5=$prefix/share/man/man5/uhs-cluster.5
man8=$prefix/share/man/man8/uhs-netboot.8
for page in "$man1" "$man5" "$man8"; do
  for section in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do
    grep -q "^\.SH \"\?$section" "$page" || fail "$(basename "$page") has no $section section"
  done
  if command -v man >/dev/null; then
    # MAN_DISABLE_SECCOMP: man-db's sandbox fails in some containers and under emulation.
    warnings=$(MAN_DISABLE_SECCOMP=1 MANWIDTH=80 MANPAGER=cat man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
    [ -z "$warnings" ] || { fail "man --warnings $(basename "$page")"; echo "$warnings" | sed 's/^/  | /'; }
  fi
done
grep -qF 'storage.truenas' "$man5" && grep -qF '\fBapi_key_file\fR (required)' "$man5" ||
  fail "uhs-cluster.5 lacks storage.truenas's keys"

# Completion: bash loads it and completes every command and option --help prints.
bash_completion() { # bash_completion FILE WORD... : what the completion offers for the last word
  bash -c 'file=$1; shift; source "$file"
    fn=$(complete -p "$1" | sed -n "s/.* -F \([^ ]*\) .*/\1/p")
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); "$fn"; printf "%s\n" "${COMPREPLY[@]}"' _ "$@"
}
# The zsh completion with compadd and _files stubbed: the words it offers for the last word
# (zsh itself filters them by the typed prefix). Empty without zsh.
zsh_completion() { # zsh_completion FILE WORD...
  command -v zsh >/dev/null || return 0
  zsh -fc 'file=$1; shift
    compadd() { [[ $1 == -a ]] && print -rl -- "${(@P)2}"; }
    _files() { :; }
    complete_words() { words=("$@"); CURRENT=$#; source "$file"; }
    complete_words "$@"' _ "$@"
}
same_words() { # same_words DESCRIPTION BASH_WORDS ZSH_WORDS: both shells offer the same
  command -v zsh >/dev/null || return 0
  [ "$(sort <<<"$2")" = "$(sort <<<"$3")" ] ||
    { fail "$1: zsh offers other words than bash"; diff <(sort <<<"$2") <(sort <<<"$3") | sed 's/^/  | /'; }
}
for program in uhs-image uhs-netboot; do
  completion=$prefix/share/bash-completion/completions/$program
  zsh_completion=$prefix/share/zsh/vendor-completions/_$program
  spec=$(bash -c 'source "$1" && complete -p "$2"' _ "$completion" "$program" 2>&1) ||
    fail "$program: sourcing the bash completion: $spec"
  [ "$spec" = "complete -o default -F _${program//-/_} $program" ] ||
    fail "$program: complete -p says '$spec'"
  if command -v zsh >/dev/null; then
    zsh -n "$zsh_completion" || fail "$program: zsh -n _$program"
  fi
  case $program in uhs-image) page=$man1 ;; *) page=$man8 ;; esac
  page_text=$(sed 's/\\-/-/g' "$page")
  # walk PATH...: every command and option that `PROGRAM PATH --help` lists.
  walk() {
    local help names name options option offered
    help=$("$prefix/bin/$program" "$@" --help)
    if grep -q '^Commands:' <<<"$help"; then
      names=$(awk '/^Commands:/ { f = 1; next } f && /^$/ { exit } f { print $1 }' <<<"$help")
      offered=$(bash_completion "$completion" "$program" "$@" "")
      same_words "$program $*" "$offered" "$(zsh_completion "$zsh_completion" "$program" "$@" "")"
      for name in $names; do
        grep -qxF -- "$name" <<<"$offered" || fail "$program $*: completion lacks '$name'"
        walk "$@" "$name"
      done
      return
    fi
    grep -qF -- ".SS \"$program $*" <<<"$page_text" || fail "$program: man page lacks '$program $*'"
    # The option lines: "  --out DIR  help" (a description line may start with an option too).
    options=$(awk '/^  --/ { print $1 }' <<<"$help")
    offered=$(bash_completion "$completion" "$program" "$@" "-")
    same_words "$program $*" "$offered" "$(zsh_completion "$zsh_completion" "$program" "$@" "-")"
    for option in $options; do
      grep -qxF -- "$option" <<<"$offered" || fail "$program $*: completion lacks $option"
      grep -qF -- "\\fB$option\\fR" <<<"$page_text" || fail "$program $*: man page lacks $option"
    done
  }
  walk
done
# A command's positional words complete to file names (the completion offers none itself).
[ -z "$(bash_completion "$prefix/share/bash-completion/completions/uhs-image" uhs-image validate "")" ] ||
  fail "uhs-image validate offers words for a FILE"

if [ "$failures" -gt 0 ]; then
  echo "$failures failure(s)"; exit 1
fi
echo "install: all checks passed"
