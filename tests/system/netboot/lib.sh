# SPDX-License-Identifier: Apache-2.0
# Shared helpers for the uhs-netboot system tests (sourced, not run).

# nb_nodes: the six simulated CM5s. Fields: name slot mac serial8 prefix(serial|mac).
nb_nodes() {
  cat <<'NODES'
cm5-1 1 2c:cf:67:10:00:01 10000001 serial
cm5-2 2 2c:cf:67:10:00:02 10000002 mac
cm5-3 3 2c:cf:67:10:00:03 10000003 serial
cm5-4 4 2c:cf:67:10:00:04 10000004 mac
cm5-5 5 2c:cf:67:10:00:05 10000005 serial
cm5-6 6 2c:cf:67:10:00:06 10000006 mac
NODES
}

# nb_dir MAC SERIAL PREFIX: the TFTP directory the node asks for.
nb_dir() {
  if [ "$3" = mac ]; then echo "${1//:/-}"; else echo "$2"; fi
}

# nb_make_image OUT ID KERNEL_BYTES: an image in uhs-image build's layout with known bytes
# (deterministic per id, so the simulator can tell which image a file came from).
nb_make_image() {
  local out=$1 id=$2 kbytes=${3:-3000000} boot="$1/$2/boot"
  mkdir -p "$boot/overlays"
  head -c "$kbytes" /dev/zero | openssl enc -aes-128-ctr -nosalt -pass "pass:kernel-$id" 2>/dev/null > "$boot/kernel_2712.img"
  head -c $((kbytes / 2 + 777)) /dev/zero | openssl enc -aes-128-ctr -nosalt -pass "pass:initrd-$id" 2>/dev/null > "$boot/initramfs_2712"
  head -c 70001 /dev/zero | openssl enc -aes-128-ctr -nosalt -pass "pass:dtb-$id" 2>/dev/null > "$boot/bcm2712-rpi-cm5-cm5io.dtb"
  printf 'overlay %s\n' "$id" > "$boot/overlays/dwc2.dtbo"
  local name slot mac serial prefix dir
  while read -r name slot mac serial prefix; do
    for dir in "$serial" "${mac//:/-}"; do
      mkdir -p "$out/$id/nodes/$dir"
      printf '# %s %s\narm_64bit=1\nkernel=kernel_2712.img\ninitramfs initramfs_2712 followkernel\n' "$name" "$id" > "$out/$id/nodes/$dir/config.txt"
      printf 'console=serial0,115200 root=/dev/nfs uhs.node=%s uhs.image=%s\n' "$name" "$id" > "$out/$id/nodes/$dir/cmdline.txt"
    done
  done < <(nb_nodes)
}

# nb_cluster_head FILE SERVER_IP INTERFACE SRC: a cluster file up to "nodes:".
nb_cluster_head() {
  local file=$1 server=$2 iface=$3 src=$4
  cat > "$file" <<YAML
apiVersion: uhs/v1
cluster:
  name: nbtest
  domain: nbtest.home.arpa
network:
  server: $server
  interface: $iface
  subnet: ${server%.*}.0/24
  gateway: ${server%.*}.1
storage:
  truenas:
    host: ${server%.*}.3
    api_key_file: nas.key
    dataset: tank/uhs
image:
  sources:
    - name: debian
      uri: auto
      suites: [trixie]
      components: [main]
      keyring: $src/tests/configs/keyrings/test-archive.gpg
  packages: [containerd]
  kernel: linux-image-arm64
kubernetes:
  version: "1.31"
  control_plane_endpoint: ${server%.*}.11:6443
nodes:
YAML
}

# nb_cluster FILE SERVER_IP INTERFACE SRC [SKIP_NODE]: a valid cluster file for the six nodes.
nb_cluster() {
  local file=$1 server=$2 iface=$3 src=$4 skip=${5:-}
  nb_cluster_head "$file" "$server" "$iface" "$src"
  local name slot mac serial prefix
  while read -r name slot mac serial prefix; do
    [ "$name" = "$skip" ] && continue
    cat >> "$file" <<YAML
  - name: $name
    slot: $slot
    model: cm5
    serial: "$serial"
    mac: "$mac"
    ip: ${server%.*}.$((10 + slot))
    role: $([ "$slot" = 1 ] && echo control-plane || echo worker)
YAML
  done < <(nb_nodes)
}

# nb_sim_nodes [SKIP]: --node arguments for pi-bootsim.
nb_sim_nodes() {
  local name slot mac serial prefix order=reversed
  while read -r name slot mac serial prefix; do
    [ "$name" = "${1:-}" ] && continue
    echo "--node $mac,$serial,$prefix,RPi5,$order"
    if [ "$order" = reversed ]; then order=ascii; else order=reversed; fi
  done < <(nb_nodes)
}

# nb_wait_for TIMEOUT_S COMMAND...: polls until COMMAND succeeds; fails after TIMEOUT_S.
nb_wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}
