# shellcheck shell=bash
# emu/harness/apps.sh: real, unmodified LAN applications through the CPE (proxy/proxy, issue 16
# item 5). A web server on the server host serves four files (1 kB .. 10 MB, fixed content,
# sha256 known) on one port per CPE channel; the CPE's nft port map (agents/cpe/cpe.sh) picks
# the channel by that destination port. curl, wget and busybox wget on a LAN host download
# them; every download is checked by sha256, timed, and becomes one line of apps.csv.
#
#   source emu/harness/apps.sh
#   mpx_apps_files DIR                     DIR/www/{1k,100k,1m,10m}.bin (1000 .. 10^7 bytes,
#                                          `seq -f %015.0f` lines: every 16 bytes differ, so a
#                                          lost, doubled or moved segment changes the sha256);
#                                          checked against the sha256 below
#   mpx_apps_httpd_start DIR NS PORT...    the web server in namespace NS, one listener per
#                                          PORT on every IPv4 address (lighttpd; busybox httpd,
#                                          one process per port, when MPX_APPS_HTTPD=busybox or
#                                          lighttpd is missing); access log DIR/httpd-access.log
#                                          (lighttpd: "PORT CLIENT-IP STATUS BYTES PATH")
#   mpx_apps_httpd_stop DIR                stops it by PID (TERM, KILL after 5 s)
#   mpx_apps_fetch DIR NS CHANNEL URLBASE TOOL SIZE
#                                          one download on the LAN host NS: TOOL curl | wget |
#                                          bbwget (busybox wget) | curl-tfo (curl
#                                          --tcp-fastopen), SIZE 1k | 100k | 1m | 10m, URLBASE
#                                          http://ADDR:PORT; one line appended to DIR/apps.csv;
#                                          returns 0 only when the exit code is 0 and the sha256
#                                          matches
#   mpx_apps_run DIR NS CHANNEL URLBASE [TOOLS [SIZES]]
#                                          every TOOL x SIZE (default "curl wget bbwget" x
#                                          "1k 100k 1m 10m"); returns the number of failed ones
#   mpx_apps_access_rate RUN NODE          Mbit/s: the sum of the topology's link rates towards
#                                          NODE over its links to non-host nodes (for the CPE of
#                                          hybrid-cpe.topo: DSL + LTE down = 50)
#   mpx_apps_if_rx NS IFACE                received bytes of an interface (for "both links
#                                          carried data": difference around a download)
#   mpx_apps_wire PCAP PORT                the downloads from server port PORT as the LAN link's
#                                          capture saw them (complete once the topology is down
#                                          or >= 1 s after the download: mpx-linkem flushes each
#                                          second), one line each in SYN order:
#                                          "CLIENT T_SYN T_LAST BYTES MBIT MBIT_RUN GAP" (T_LAST: the last
#                                          server segment with data; BYTES: the highest sequence
#                                          number, HTTP header included; MBIT = BYTES * 8 /
#                                          (T_LAST - T_SYN)): the goodput from connect to the
#                                          last byte, as mpx-client's t_done_us in bulk.exp,
#                                          without the tool's process start; MBIT_RUN: the
#                                          rate from 10 % to 90 % of the bytes (set-up, join
#                                          wait, slow start and tail excluded); GAP: the
#                                          longest time without a data segment, s (a stall)
#   mpx_apps_syn_get PCAP DPORT            how many SYNs (IPv4, no ACK) to DPORT in PCAP carry
#                                          an HTTP request ("GET /"): in the access link's
#                                          capture, the LAN bytes the CPE put into its own SYN
#
# apps.csv (header written with the file):
#   tool,channel,size,bytes,seconds,goodput_mbit,sha_ok,exit
#   curl,convert,1m,1000000,0.254913,31.382,1,0
# seconds: from just before the tool starts to its exit, measured inside NS; goodput_mbit =
# bytes * 8 / seconds / 10^6 (bytes received, whatever the exit code); sha_ok 1 or 0; exit the
# tool's exit code (124/137: the timeout). NS is a namespace name (run through
# mpx_topo_ns_prefix when emu/lib/topo.sh is loaded, so mininet nodes work too, else
# `ip netns exec`).
# Tunables: MPX_APPS_TIMEOUT (s, per download, default 60), MPX_APPS_LIFE (s, longest life of
# the web server, default 1800), MPX_APPS_HTTPD (lighttpd | busybox; default lighttpd when
# installed). Every process has a timeout; nothing is left behind after mpx_apps_httpd_stop.

declare -gA MPX_APPS_BYTES=([1k]=1000 [100k]=100000 [1m]=1000000 [10m]=10000000)
declare -gA MPX_APPS_SHA=(
  [1k]=61ed27fe18539f7c59b4bfc44bdeaba4f3f24ec79785c20050bcd7860702e8b5
  [100k]=3686c71302dfbb800c24971025654dd505261a7a88ac789c0b363679a2b72ccf
  [1m]=c373cde9882f3b686bd95592a3fd3e34b3a7f881b9eed4e34608595e7c3780df
  [10m]=5649e9162b67ccbd81e34bb4148cc7ee1460b703e82e571aff5187b20c2cb226
)
MPX_APPS_CSV_HEADER=tool,channel,size,bytes,seconds,goodput_mbit,sha_ok,exit

# _mpx_apps_pre NS: the command prefix that runs a command inside namespace NS (one word a
# line); _mpx_apps_in NS CMD...: CMD inside NS
_mpx_apps_pre() {
  if declare -F mpx_topo_ns_prefix > /dev/null; then mpx_topo_ns_prefix "$1"
  else printf '%s\n' ip netns exec "$1"; fi
}
_mpx_apps_in() {
  local pre=()
  mapfile -t pre < <(_mpx_apps_pre "$1")
  shift
  "${pre[@]}" "$@"
}

mpx_apps_files() { # dir
  local w=$1/www s got
  mkdir -p "$w" || return 1
  for s in "${!MPX_APPS_BYTES[@]}"; do
    if [ ! -s "$w/$s.bin" ]; then
      seq -f '%015.0f' 0 $((MPX_APPS_BYTES[$s] / 16)) | head -c "${MPX_APPS_BYTES[$s]}" \
        > "$w/$s.bin" || return 1
    fi
    got=$(sha256sum < "$w/$s.bin") got=${got%% *}
    [ "$got" = "${MPX_APPS_SHA[$s]}" ] ||
      { echo "mpx_apps_files: $w/$s.bin has sha256 $got, not ${MPX_APPS_SHA[$s]}" >&2; return 1; }
  done
}

_mpx_apps_httpd_kind() {
  case ${MPX_APPS_HTTPD:-} in
    lighttpd|busybox) echo "$MPX_APPS_HTTPD" ;;
    '') if command -v lighttpd > /dev/null; then echo lighttpd; else echo busybox; fi ;;
    *) echo "mpx_apps: MPX_APPS_HTTPD=$MPX_APPS_HTTPD (lighttpd or busybox)" >&2; return 2 ;;
  esac
}

# _mpx_apps_listening NS PORT...: every PORT has a TCP listener in NS (5 s at most)
_mpx_apps_listening() {
  local ns=$1 i p ok l
  shift
  for ((i = 0; i < 250; i++)); do
    l=$(_mpx_apps_in "$ns" ss -Hltn 2> /dev/null) ok=1
    for p; do grep -q ":$p " <<< "$l" || { ok=0; break; }; done
    [ $ok = 1 ] && return 0
    sleep 0.02
  done
  return 1
}

mpx_apps_httpd_start() { # dir ns port...
  local d=$1 ns=$2 kind p first conf life=${MPX_APPS_LIFE:-1800} pre=()
  shift 2
  [ $# -ge 1 ] || { echo "usage: mpx_apps_httpd_start DIR NS PORT..." >&2; return 2; }
  kind=$(_mpx_apps_httpd_kind) || return 2
  mpx_apps_files "$d" || return 1
  d=$(cd "$d" && pwd)
  # started directly (not through a function) so that $! is the process itself: ip netns exec
  # and mnexec exec, the PID is timeout's, which passes TERM on to the server
  mapfile -t pre < <(_mpx_apps_pre "$ns")
  : > "$d/httpd.pids"
  if [ "$kind" = lighttpd ]; then
    first=$1 conf=$d/lighttpd.conf
    {
      echo "server.document-root = \"$d/www\""
      echo "server.bind = \"0.0.0.0\""
      echo "server.port = $first"
      echo "server.errorlog = \"$d/httpd-error.log\""
      echo 'server.modules = ("mod_accesslog")'
      echo "accesslog.filename = \"$d/httpd-access.log\""
      echo 'accesslog.format = "%p %h %>s %b %U"'
      echo 'server.max-keep-alive-requests = 0'
      echo 'mimetype.assign = (".bin" => "application/octet-stream")'
      for p in "${@:2}"; do echo "\$SERVER[\"socket\"] == \"0.0.0.0:$p\" { }"; done
    } > "$conf"
    "${pre[@]}" timeout -s TERM -k 5 "$life" lighttpd -D -f "$conf" \
      < /dev/null > "$d/httpd.log" 2>&1 &
    echo "$!" >> "$d/httpd.pids"
  else
    for p; do
      "${pre[@]}" timeout -s TERM -k 5 "$life" busybox httpd -f -vv -p "0.0.0.0:$p" \
        -h "$d/www" < /dev/null >> "$d/httpd.log" 2>&1 &
      echo "$!" >> "$d/httpd.pids"
    done
  fi
  _mpx_apps_listening "$ns" "$@" && return 0
  echo "mpx_apps_httpd_start: $kind not listening on $* in $ns:" \
    "$(tail -n 3 "$d/httpd.log" "$d/httpd-error.log" 2> /dev/null | tr '\n' ' ')" >&2
  mpx_apps_httpd_stop "$d"
  return 1
}

mpx_apps_httpd_stop() { # dir
  local f=$1/httpd.pids p i
  [ -f "$f" ] || return 0
  while read -r p; do
    [ -n "$p" ] || continue
    kill -TERM "$p" 2> /dev/null
    for ((i = 0; i < 250; i++)); do kill -0 "$p" 2> /dev/null || break; sleep 0.02; done
    kill -KILL "$p" 2> /dev/null
    wait "$p" 2> /dev/null
  done < "$f"
  rm -f "$f"
  return 0
}

mpx_apps_fetch() { # dir ns channel urlbase tool size
  local d=$1 ns=$2 ch=$3 base=$4 tool=$5 size=$6 to=${MPX_APPS_TIMEOUT:-60} out cmd=() t rc=0
  local want=${MPX_APPS_SHA[$size]:-} bytes got ok=0 secs
  [ -n "$want" ] || { echo "mpx_apps_fetch: size '$size' (1k 100k 1m 10m)" >&2; return 2; }
  local url=$base/$size.bin
  out=$d/dl-$tool-$ch-$size.out
  rm -f "$out"
  case $tool in
    curl)     cmd=(curl -sS --fail --max-time "$to" -o "$out" "$url") ;;
    curl-tfo) cmd=(curl -sS --fail --tcp-fastopen --max-time "$to" -o "$out" "$url") ;;
    wget)     cmd=(wget -q --tries=1 --timeout="$to" -O "$out" "$url") ;;
    bbwget)   cmd=(busybox wget -q -O "$out" "$url") ;;   # Debian: no -T (it crashes, rc 139)
    *) echo "mpx_apps_fetch: tool '$tool' (curl wget bbwget curl-tfo)" >&2; return 2 ;;
  esac
  [ -f "$d/apps.csv" ] || echo "$MPX_APPS_CSV_HEADER" > "$d/apps.csv"
  # the clock runs inside the namespace, so the namespace entry is not timed; the tool's
  # stderr is kept (DIR/dl-TOOL-CHANNEL-SIZE.out.err) when the download failed
  local t0 t1
  t=$(_mpx_apps_in "$ns" bash -c 'e=$1 to=$2; shift 2; t0=$EPOCHREALTIME
      timeout -s KILL "$to" "$@" 2> "$e"; rc=$?; echo "$t0 $EPOCHREALTIME $rc"' \
      _ "$out.err" "$((to + 5))" "${cmd[@]}" < /dev/null) || true
  read -r t0 t1 rc <<< "$t"
  [ -n "${rc:-}" ] || { rc=255 t0=0 t1=0; }
  bytes=$(stat -c %s "$out" 2> /dev/null || echo 0)
  got=$(sha256sum 2> /dev/null < "$out") got=${got%% *}
  [ "$rc" = 0 ] && [ "$got" = "$want" ] && ok=1
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
  echo "$tool,$ch,$size,$bytes,$secs,$(awk -v b="$bytes" -v s="$secs" \
    'BEGIN { printf "%.3f", (s > 0 ? b * 8 / s / 1e6 : 0) }'),$ok,$rc" >> "$d/apps.csv"
  rm -f "$out"
  [ $ok = 1 ] && rm -f "$out.err"
  [ $ok = 1 ]
}

mpx_apps_run() { # dir ns channel urlbase [tools [sizes]]
  local d=$1 ns=$2 ch=$3 base=$4 tools=${5:-curl wget bbwget} sizes=${6:-1k 100k 1m 10m}
  local t s bad=0
  for s in $sizes; do
    for t in $tools; do mpx_apps_fetch "$d" "$ns" "$ch" "$base" "$t" "$s" || bad=$((bad + 1)); done
  done
  return $bad
}

# _mpx_apps_mbit RATE: "20mbit" -> 20 (Mbit/s)
_mpx_apps_mbit() {
  awk -v r="$1" 'BEGIN { n = r + 0; u = tolower(substr(r, length(n "") + 1))
    f = (u ~ /^gbit/) ? 1000 : (u ~ /^mbit/) ? 1 : (u ~ /^kbit/) ? 0.001 : (u ~ /^bit/) ? 1e-6 : -1
    if (f < 0) exit 1; printf "%g\n", n * f }'
}

mpx_apps_access_rate() { # run node
  local st l an bn rest dir spec r sum=0 hosts
  declare -F mpx_topo_state > /dev/null ||
    { echo "mpx_apps_access_rate: emu/lib/topo.sh not loaded" >&2; return 2; }
  st=$(mpx_topo_state "$1")
  hosts=" $(awk '$2 == "host" { printf "%s ", $1 }' "$st/nodes")"
  while read -r l an _ bn _ rest; do
    if [ "$bn" = "$2" ] && [[ $hosts != *" $an "* ]]; then dir=ab
    elif [ "$an" = "$2" ] && [[ $hosts != *" $bn "* ]]; then dir=ba
    else continue; fi
    spec=$(awk -v d="$dir" '$1 == d' "$st/$l.spec")
    [[ $spec =~ (^|[[:space:]])rate=([^[:space:]]+) ]] || continue   # no rate: unlimited
    r=$(_mpx_apps_mbit "${BASH_REMATCH[2]}") || return 1
    sum=$(awk -v a="$sum" -v b="$r" 'BEGIN { printf "%g", a + b }')
  done < "$st/links"
  echo "$sum"
}

mpx_apps_if_rx() { # ns iface
  # from netlink, not /sys: a mininet node (mnexec) has no /sys of its own
  _mpx_apps_in "$1" ip -j -s link show dev "$2" | jq -e '.[0].stats64.rx.bytes'
}

mpx_apps_wire() { # pcap port
  timeout 60 tcpdump -tt -nn -r "$1" "ip and tcp port $2" 2> /dev/null |
    awk -v p=".$2" '
      $2 != "IP" { next }
      { src = $3; dst = $5; sub(/:$/, "", dst) }
      /Flags \[S\]/ && substr(dst, length(dst) - length(p) + 1) == p {
        if (!(src in syn)) { syn[src] = $1; order[++n] = src }; next }
      substr(src, length(src) - length(p) + 1) == p && (dst in syn) && / length [1-9]/ {
        if (match($0, /seq [0-9]+:[0-9]+/)) {
          split(substr($0, RSTART + 4, RLENGTH - 4), s, ":")
          if (s[2] - 1 > top[dst]) { top[dst] = s[2] - 1; k = ++np[dst]; pt[dst, k] = $1; pb[dst, k] = top[dst] }
          if ((dst in last) && $1 - last[dst] > gap[dst]) gap[dst] = $1 - last[dst]
          last[dst] = $1 } }
      END { for (i = 1; i <= n; i++) { c = order[i]; if (!(c in last)) continue
              d = last[c] - syn[c]
              # the rate while the transfer runs: from the first segment past 10 % of the bytes
              # to the first past 90 % (no handshake, join wait, slow start or lone tail)
              t10 = t90 = ""; b10 = b90 = 0
              for (k = 1; k <= np[c]; k++) {
                if (t10 == "" && pb[c, k] >= top[c] * 0.1) { t10 = pt[c, k]; b10 = pb[c, k] }
                if (t90 == "" && pb[c, k] >= top[c] * 0.9) { t90 = pt[c, k]; b90 = pb[c, k] } }
              printf "%s %.6f %.6f %d %.3f %.3f %.3f\n", c, syn[c], last[c], top[c],
                (d > 0 ? top[c] * 8 / d / 1e6 : 0),
                (t90 > t10 ? (b90 - b10) * 8 / (t90 - t10) / 1e6 : 0), gap[c] + 0 } }'
}

mpx_apps_syn_get() { # pcap dport
  timeout 30 tcpdump -nn -A -r "$1" \
    "ip and tcp dst port $2 and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn" 2> /dev/null |
    grep -c 'GET /' || true
}
