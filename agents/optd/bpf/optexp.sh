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
#                              (mpx-wire encode option exp253; new code can ask mpx-wire for the
#                              kind-253 form directly: encode option prefer|mpconvert --exp253)
# Environment: MPX_BPFX_CGROOT (cgroup v2 mount, default /sys/fs/cgroup/unified if it is a
# cgroup2 mount, else /sys/fs/cgroup), MPX_BPFX_CLANG_INC (-I for asm/types.h), MPX_BPFX_WIRE
# (mpx-wire, default bin/mpx-wire of this checkout). Needs bpftool, jq and mpx-wire.

MPX_BPFX_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MPX_BPFX_TOP=$(cd "$MPX_BPFX_DIR/../../.." && pwd)   # the program includes proto/exid.h
MPX_BPFX_SRC=${MPX_BPFX_SRC:-$MPX_BPFX_DIR/optexp.bpf.c}
MPX_BPFX_WIRE=${MPX_BPFX_WIRE:-$MPX_BPFX_TOP/bin/mpx-wire}
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
  command -v jq >/dev/null || { MPX_BPFX_WHY="jq not installed"; return 77; }
  [ -x "$MPX_BPFX_WIRE" ] || { MPX_BPFX_WHY="$MPX_BPFX_WIRE not built"; return 77; }
  root=$(_mpx_bpfx_cgroot) || { MPX_BPFX_WHY="no cgroup v2 mount (tried /sys/fs/cgroup/unified, /sys/fs/cgroup)"; return 77; }
  mkdir -p "$dir" || return 1
  # libbpf rewrites '.' to '_' in map pin paths, so the bpffs mount point must have no dots
  local fs; fs=$(mktemp -d /tmp/mpx-bpffs-XXXXXXXX) || return 1
  case $fs in *.*) MPX_BPFX_WHY="bpffs path with a dot: $fs"; rmdir "$fs"; return 1 ;; esac
  echo "$fs" >"$dir/bpffs.path"
  inc=${MPX_BPFX_CLANG_INC:-/usr/include/$(uname -m)-linux-gnu}
  if ! clang -O2 -g -target bpf -I"$inc" -I"$MPX_BPFX_TOP" -Wall -c "$MPX_BPFX_SRC" -o "$dir/optexp.o" 2>"$dir/clang.log"; then
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
# The address bytes come from mpx-wire (its parser, no hand-made conversion): they are the
# address field of an MP_CONVERT option, 1e LEN e0 06 ADDR.
_mpx_bpfx_key() { # addr port -> hex words
  local a=$1 p=$2 fam opt hex
  if [[ $a == *:* ]]; then
    fam=06
    opt=$("$MPX_BPFX_WIRE" encode option mpconvert --target "[$a]") || return 1
    hex=${opt:8:32}
  else
    fam=04
    opt=$("$MPX_BPFX_WIRE" encode option mpconvert --target "$a") || return 1
    hex=${opt:8:8}000000000000000000000000
  fi
  [ ${#hex} = 32 ] || return 1
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

# jq helpers for `bpftool -j map dump` (keys and values are arrays of "0x.." byte strings)
_MPX_BPFX_JQ_LIB='
def mpx_byte: ascii_downcase | ltrimstr("0x") | explode
  | reduce .[] as $c (0; . * 16 + (if $c >= 97 then $c - 87 else $c - 48 end));
def mpx_bytes: map(mpx_byte);
def mpx_le: reduce (reverse | .[]) as $b (0; . * 256 + $b);
def mpx_hexdig: "0123456789abcdef"[. : . + 1];
def mpx_hex2: "\((. / 16 | floor) | mpx_hexdig)\(. % 16 | mpx_hexdig)";
def mpx_hexn: if . >= 16 then "\(. / 16 | floor | mpx_hexn)\(. % 16 | mpx_hexdig)" else mpx_hexdig end;
# 16 bytes -> RFC 5952 text (the longest run of two or more zero groups, first one, is "::")
def mpx_ip6: . as $b | [range(0; 8) | $b[2 * .] * 256 + $b[2 * . + 1]] as $g
  | (reduce range(0; 8) as $i ({best: -1, blen: 0, cur: -1, clen: 0};
      if $g[$i] == 0 then (if .cur < 0 then .cur = $i | .clen = 1 else .clen += 1 end)
        | (if .clen > .blen then .best = .cur | .blen = .clen else . end)
      else .cur = -1 | .clen = 0 end)) as $z
  | if $z.blen >= 2 then
      ($g[0:$z.best] | map(mpx_hexn) | join(":")) + "::" + ($g[$z.best + $z.blen:] | map(mpx_hexn) | join(":"))
    else $g | map(mpx_hexn) | join(":") end;
'

mpx_bpfx_seen() { # dir
  bpftool -j map dump pinned "$(cat "$1/bpffs.path")/maps/optexp_seen" 2>/dev/null |
    jq -r "$_MPX_BPFX_JQ_LIB"'
      .[] | (.key | mpx_bytes) as $k | (.value | mpx_bytes) as $v
      | (if $k[0] == 4 then $k[4:8] | map(tostring) | join(".") else $k[4:20] | mpx_ip6 end) as $addr
      | "\($addr) \($k[2] + 256 * $k[3]) \($v[1:1 + $v[0]] | map(mpx_hex2) | join(""))"'
}

mpx_bpfx_stats() { # dir
  bpftool -j map dump pinned "$(cat "$1/bpffs.path")/maps/optexp_stats" 2>/dev/null |
    jq -r "$_MPX_BPFX_JQ_LIB"'
      (map({key: (.key | mpx_bytes | mpx_le | tostring), value: (.value | mpx_bytes | mpx_le)}) | from_entries) as $d
      | [range(0; 4) | $d[tostring] // 0] | map(tostring) | join(" ")'
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
  "$MPX_BPFX_WIRE" encode option exp253 --from "$1"
}
