# shellcheck shell=bash
# shellcheck disable=SC2034  # MPX_BPFX_WHY / MPX_BPFX_LASTPID are read by the caller
# agents/optd/bpf/optexp.sh: build, load, attach and drive optexp.bpf.c (the kind-253 ExID
# encoding of MP_PREFER_PROXY / MP_CONVERT through cgroup sock_ops; see that file).
#
#   source agents/optd/bpf/optexp.sh
#   mpx_bpfx_up DIR            compiles the program into DIR, mounts a private bpffs at
#                              /tmp/mpx-bpffs-XXXXXXXX (path in DIR/bpffs.path), creates a per-run cgroup v2 and attaches the program.
#                              Returns 0, or 77 with the reason in MPX_BPFX_WHY when the machine
#                              lacks something (clang, bpftool, cgroup v2, bpffs).
#   mpx_bpfx_run DIR CMD...    runs CMD inside the cgroup (sockets it opens get the program)
#   mpx_bpfx_bg DIR LOG CMD... the same in the background; PID in MPX_BPFX_LASTPID
#   mpx_bpfx_set DIR dst ADDR PORT HEX | all HEX | del ADDR PORT
#                              option bytes (FD LEN 4D 50 ...) for SYNs to ADDR:PORT
#   mpx_bpfx_seen DIR          lines "ADDR PORT HEX": kind-253 options read from SYNs
#   mpx_bpfx_stats DIR         "added reserve_fail read_with read_without"
#   mpx_bpfx_down DIR          detaches, unpins, unmounts, removes the cgroup
#   mpx_bpfx_opt HEX30         turns a kind-30 option (1e LEN body) into the kind-253 form
# Environment: MPX_BPFX_CGROOT (cgroup v2 mount, default /sys/fs/cgroup/unified if it is a
# cgroup2 mount, else /sys/fs/cgroup), MPX_BPFX_CLANG_INC (-I for asm/types.h).

MPX_BPFX_SRC=${MPX_BPFX_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/optexp.bpf.c}
MPX_BPFX_WHY=''

_mpx_bpfx_cgroot() {
  local c
  for c in ${MPX_BPFX_CGROOT:-/sys/fs/cgroup/unified /sys/fs/cgroup}; do
    [ "$(stat -f -c %T "$c" 2>/dev/null)" = cgroup2fs ] && { echo "$c"; return 0; }
  done
  return 1
}

mpx_bpfx_up() { # dir
  local dir=$1 root cg inc
  MPX_BPFX_WHY=''
  command -v clang >/dev/null || { MPX_BPFX_WHY="clang not installed"; return 77; }
  command -v bpftool >/dev/null || { MPX_BPFX_WHY="bpftool not installed"; return 77; }
  root=$(_mpx_bpfx_cgroot) || { MPX_BPFX_WHY="no cgroup v2 mount (tried /sys/fs/cgroup/unified, /sys/fs/cgroup)"; return 77; }
  mkdir -p "$dir" || return 1
  # libbpf rewrites '.' to '_' in map pin paths, so the bpffs mount point must have no dots
  local fs; fs=$(mktemp -d /tmp/mpx-bpffs-XXXXXXXX) || return 1
  case $fs in *.*) MPX_BPFX_WHY="bpffs path with a dot: $fs"; rmdir "$fs"; return 1 ;; esac
  echo "$fs" >"$dir/bpffs.path"
  inc=${MPX_BPFX_CLANG_INC:-/usr/include/$(uname -m)-linux-gnu}
  if ! clang -O2 -g -target bpf -I"$inc" -Wall -c "$MPX_BPFX_SRC" -o "$dir/optexp.o" 2>"$dir/clang.log"; then
    MPX_BPFX_WHY="clang -target bpf failed: $(head -c 200 "$dir/clang.log")"
    return 77
  fi
  if ! mount -t bpf bpf "$fs" 2>"$dir/mount.log"; then
    MPX_BPFX_WHY="cannot mount bpffs: $(cat "$dir/mount.log")"
    rmdir "$fs"
    return 77
  fi
  echo "$fs" >"$dir/bpffs.mounted"
  cg=$root/mpx-optexp-$$-$RANDOM
  mkdir "$cg" || { MPX_BPFX_WHY="cannot create cgroup $cg"; return 77; }
  echo "$cg" >"$dir/cgroup"
  if ! bpftool prog load "$dir/optexp.o" "$fs/prog" type sockops pinmaps "$fs/maps" \
      >"$dir/load.log" 2>&1; then
    MPX_BPFX_WHY="bpftool prog load failed: $(tail -c 300 "$dir/load.log")"
    return 1
  fi
  bpftool cgroup attach "$cg" sock_ops pinned "$fs/prog" 2>"$dir/attach.log" ||
    { MPX_BPFX_WHY="attach failed: $(cat "$dir/attach.log")"; return 1; }
  return 0
}

mpx_bpfx_run() { # dir cmd...
  local cg; cg=$(cat "$1/cgroup") || return 1; shift
  sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$cg" "$@"
}

# Background variant: MPX_BPFX_LASTPID is the command's own PID (sh execs into it).
mpx_bpfx_bg() { # dir log cmd...
  local cg log=$2; cg=$(cat "$1/cgroup") || return 1; shift 2
  sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$cg" "$@" >"$log" 2>&1 &
  MPX_BPFX_LASTPID=$!
}

# key: family(1) pad(1) port(2, host order = little endian here) addr(16)
_mpx_bpfx_key() { # addr port -> hex words
  local a=$1 p=$2 fam hex
  if [[ $a == *:* ]]; then
    fam=06
    hex=$(python3 -c 'import ipaddress,sys;print(ipaddress.IPv6Address(sys.argv[1]).packed.hex())' "$a") || return 1
  else
    fam=04
    # shellcheck disable=SC2086  # split the dotted quad into four numbers
    hex=$(printf '%02x' ${a//./ })000000000000000000000000
  fi
  printf '%s 00 %02x %02x %s\n' "$fam" $((p & 255)) $((p >> 8)) "$(sed 's/../& /g' <<<"$hex")"
}

mpx_bpfx_set() { # dir dst ADDR PORT HEX | all HEX | del ADDR PORT
  local dir=$1 what=$2 key hex len val
  case $what in
    dst) key=$(_mpx_bpfx_key "$3" "$4") || return 2; hex=$5 ;;
    all) key=$(printf '00 %.0s' $(seq 20)); hex=$3 ;;
    del) key=$(_mpx_bpfx_key "$3" "$4") || return 2
         # shellcheck disable=SC2086
         bpftool map delete pinned "$(cat "$dir/bpffs.path")/maps/optexp_cfg" key hex $key; return ;;
    *) echo "mpx_bpfx_set: dst|all|del" >&2; return 2 ;;
  esac
  len=$((${#hex} / 2))
  { [ "$len" -ge 4 ] && [ "$len" -le 39 ]; } || { echo "mpx_bpfx_set: option must be 4..39 bytes" >&2; return 2; }
  [ "$((16#${hex:2:2}))" = "$len" ] || { echo "mpx_bpfx_set: length byte != option length" >&2; return 2; }
  val=$(printf '%02x %s' "$len" "$(sed 's/../& /g' <<<"$hex")")
  val+=$(printf ' 00%.0s' $(seq $((39 - len))))
  # shellcheck disable=SC2086
  bpftool map update pinned "$(cat "$dir/bpffs.path")/maps/optexp_cfg" key hex $key value hex $val
}

mpx_bpfx_seen() { # dir
  bpftool -j map dump pinned "$(cat "$1/bpffs.path")/maps/optexp_seen" 2>/dev/null | python3 -c '
import ipaddress, json, sys
for e in json.load(sys.stdin):
    k = bytes(int(x, 16) for x in e["key"]); v = bytes(int(x, 16) for x in e["value"])
    fam, port = k[0], k[2] | k[3] << 8
    addr = ipaddress.IPv4Address(k[4:8]) if fam == 4 else ipaddress.IPv6Address(k[4:20])
    print(addr, port, v[1:1 + v[0]].hex())'
}

mpx_bpfx_stats() { # dir
  bpftool -j map dump pinned "$(cat "$1/bpffs.path")/maps/optexp_stats" 2>/dev/null | python3 -c '
import json, sys
d = {int.from_bytes(bytes(int(x, 16) for x in e["key"]), "little"):
     int.from_bytes(bytes(int(x, 16) for x in e["value"]), "little") for e in json.load(sys.stdin)}
print(*(d.get(i, 0) for i in range(4)))'
}

mpx_bpfx_down() { # dir
  local dir=$1 cg=''
  [ -f "$dir/cgroup" ] && cg=$(cat "$dir/cgroup")
  local fs=''
  [ -f "$dir/bpffs.path" ] && fs=$(cat "$dir/bpffs.path")
  if [ -n "$cg" ] && [ -d "$cg" ]; then
    [ -n "$fs" ] && bpftool cgroup detach "$cg" sock_ops pinned "$fs/prog" 2>/dev/null
    rmdir "$cg" 2>/dev/null || { sleep 0.5; rmdir "$cg" 2>/dev/null; }
  fi
  if [ -f "$dir/bpffs.mounted" ]; then
    rm -rf "$fs/prog" "$fs/maps" 2>/dev/null
    umount "$fs" 2>/dev/null
    rm -f "$dir/bpffs.mounted"
  fi
  [ -n "$fs" ] && [ -d "$fs" ] && rmdir "$fs" 2>/dev/null
  rm -f "$dir/bpffs.path"
  return 0
}

mpx_bpfx_opt() { # hex of a kind-30 option -> kind-253 form (FD, LEN+2, 4D 50, body)
  local h=$1
  printf 'fd%02x4d50%s\n' $(((${#h} / 2) + 2)) "${h:4}"
}
