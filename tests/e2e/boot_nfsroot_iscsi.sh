#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: boot-nfsroot with per-node state on iSCSI (storage.state: iscsi): the node logs in to a
# LUN that tgtd (userspace) serves in the test's namespace, formats it on first use and keeps
# /var/lib/containerd and /var/lib/kubelet there. Skips (125) without tgt.
UHS_E2E_STATE=iscsi exec bash "$(dirname "$0")/boot_nfsroot.sh" "$@"
