# SPDX-License-Identifier: Apache-2.0
# Shared by the benches: the host's own APT mirrors, as `uri: auto` picks them.

# The host's Debian mirror (first non-security deb entry), without a trailing '/'; empty when
# there is none.
bench_host_mirror() {
  local mirror
  mirror=$({ sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2> /dev/null
             awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) {print $i; exit}}' \
               /etc/apt/sources.list 2> /dev/null || true; } | grep -v security | awk 'NR == 1 {print $1}')
  echo "${mirror%/}"
}

# The host's Debian security archive, for a cluster file with a `security` source (suites:
# [trixie-security], uri: auto); empty when there is none.
bench_host_security() {
  local security
  security=$({ awk '/^URIs:/ {uri = $2} /^Suites:.*-security/ {print uri}' \
                 /etc/apt/sources.list.d/*.sources 2> /dev/null
               awk '$1 == "deb" && $0 ~ /-security/ {for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) {print $i; exit}}' \
                 /etc/apt/sources.list 2> /dev/null || true; } | awk 'NR == 1 {print $1}')
  echo "${security%/}"
}

# A field of one of the cluster's sources, from `uhs-image plan --json` (PLAN-JSON), its list
# joined by SEP: bench_source_field PLAN-JSON NAME FIELD SEP.
bench_source_field() {
  jq -r ".inputs.config.subset.image.sources[] | select(.name == \"$2\") | .$3 | join(\"$4\")" "$1"
}
