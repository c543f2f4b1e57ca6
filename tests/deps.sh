#!/usr/bin/env bash
# Installs the Debian packages mpxlab needs, only those missing; apt-get update only then.
# --quiet: print nothing when everything is present (used before every build/test).
# --with GROUP (repeatable): only these optional groups (the base set is `make deps`' job),
# installed by what needs them, so `make deps` stays fast:
#   sweep   GNU parallel (mpxlab sweep --engine parallel)
#   slurm   slurm-wlm (slurmctld, slurmd, sbatch, sinfo, sacct) and munge (--engine slurm,
#           tests/integration/sweep_slurm.sh); their services are not started here
set -euo pipefail
PKGS=(
  build-essential pkg-config clang llvm libclang-rt-14-dev
  libpcap-dev libcmocka-dev nettle-dev libssl-dev
  libnetfilter-queue-dev libmnl-dev libbpf-dev bpftool
  iproute2 tcpdump nftables iptables ethtool procps psmisc util-linux
  jq gnuplot-nox tshark iputils-ping curl wget socat haproxy lighttpd busybox iperf3
  shellcheck cppcheck
  mininet bridge-utils microsocks
)
declare -A MPX_DEPS_GROUP=([sweep]="parallel" [slurm]="slurm-wlm munge")
quiet=0 grp=()
while [ $# -gt 0 ]; do
  case $1 in
    --quiet) quiet=1; shift ;;
    --with)
      g=${2:-}
      [ -n "$g" ] && [ -n "${MPX_DEPS_GROUP[$g]:-}" ] ||
        { echo "deps: --with wants one of: ${!MPX_DEPS_GROUP[*]}" >&2; exit 2; }
      read -r -a gp <<< "${MPX_DEPS_GROUP[$g]}"; grp+=("${gp[@]}"); shift 2 ;;
    *) echo "usage: tests/deps.sh [--quiet] [--with sweep|slurm]..." >&2; exit 2 ;;
  esac
done
[ ${#grp[@]} = 0 ] || PKGS=("${grp[@]}")
missing=()
while read -r name status; do
  [ "$status" = installed ] || missing+=("$name")
done < <(for p in "${PKGS[@]}"; do
  s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  echo "$p ${s:-absent}"
done)
if [ ${#missing[@]} -eq 0 ]; then
  [ $quiet = 1 ] || echo "deps: all ${#PKGS[@]} packages present"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "deps: missing ${missing[*]} and not root; run 'make deps' as root" >&2; exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
