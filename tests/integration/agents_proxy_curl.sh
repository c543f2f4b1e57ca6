#!/usr/bin/env bash
# A client nobody here wrote: curl through mpx-proxy's SOCKS5 listener fetches files from
# busybox httpd in the server namespace; sha256 compared. IPv4, IPv6, and a domain name
# resolved by the proxy (--socks5-hostname; the hag namespace gets its own /etc/hosts via
# /etc/netns/NAME/hosts, which `ip netns exec` bind-mounts); an unknown name -> REP 4.
# curl speaks plain TCP to the MPTCP listener: the proxy counts those as client_fallback.
# timeout: 90
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$MPX_ROOT/tests/lib/netns.sh"
source "$MPX_ROOT/tests/lib-proxy.sh"
t_require_root
t_require_cmd jq ip curl busybox sha256sum
t_require_bin mpx-proxy

ETCNS=''
cleanup() {
  [ "$T_FAILED" = 1 ] && { mpx_nt_dump; tail -n 30 "$MPX_NT_DIR"/*.log; }
  mpx_nt_down
  [ -n "$ETCNS" ] && rm -rf "$ETCNS"
  return 0
}
trap cleanup EXIT INT TERM
mpx_nt_up pxcurl || { echo "FAIL: setup: namespaces"; exit 1; }
ETCNS=/etc/netns/$MPX_NT_HAG
mkdir -p "$ETCNS"
printf '127.0.0.1 localhost\n%s files.mpx.test\n%s files6.mpx.test\n' "$MPX_NT_S4" "$MPX_NT_S6" > "$ETCNS/hosts"

www=$MPX_NT_DIR/www; mkdir -p "$www"
head -c 5000000 /dev/urandom > "$www/blob.bin"
want=$(sha256sum < "$www/blob.bin" | cut -d' ' -f1)
# wrapped so that SIGTERM ends it with status 0 (mpx_nt_kill waits under set -e)
mpx_nt_bg server "$MPX_NT_DIR/httpd.log" bash -c 'busybox httpd -f -p 80 -h "$1" & c=$!; trap "kill $c; exit 0" TERM; wait $c' httpd "$www"
for i in $(seq 100); do mpx_nt_exec server ss -ltn 2>/dev/null | grep -q ':80 ' && break; sleep 0.05; done
mpx_px_start pa --socks5 1080 || { t_fail setup "proxy not ready"; exit 1; }

fetch() { # name curl-proxy-opt proxy url
  local out=$MPX_NT_DIR/$1.out rc=0
  mpx_nt_exec client timeout 30 curl -sS --max-time 20 "$2" "$3" "$4" -o "$out" 2>"$MPX_NT_DIR/$1.err" || rc=$?
  local got; got=$(sha256sum < "$out" 2>/dev/null | cut -d' ' -f1 || true)
  if [ $rc = 0 ] && [ "$got" = "$want" ]; then t_pass "$1 (5000000 bytes, sha256 ok)"
  else t_fail "$1" "curl rc=$rc sha=${got:-none} $(cat "$MPX_NT_DIR/$1.err")"; fi
}
fetch curl_socks5_ipv4 --socks5 "$MPX_NT_H_DSL4:1080" "http://$MPX_NT_S4/blob.bin"
fetch curl_socks5_ipv6 --socks5 "[$MPX_NT_H_DSL6]:1080" "http://[$MPX_NT_S6]/blob.bin"
fetch curl_socks5_hostname --socks5-hostname "$MPX_NT_H_DSL4:1080" "http://files.mpx.test/blob.bin"
fetch curl_socks5_hostname_v6 --socks5-hostname "$MPX_NT_H_DSL4:1080" "http://files6.mpx.test/blob.bin"
# ten in parallel
pids=()
for i in $(seq 10); do
  mpx_nt_exec client timeout 30 curl -sS --max-time 20 --socks5-hostname "$MPX_NT_H_DSL4:1080" \
    "http://files.mpx.test/blob.bin" -o "$MPX_NT_DIR/par$i.out" 2>/dev/null & pids+=("$!")
done
okn=0
for i in $(seq 10); do
  wait "${pids[$((i - 1))]}" || true
  [ "$(sha256sum < "$MPX_NT_DIR/par$i.out" | cut -d' ' -f1)" = "$want" ] && okn=$((okn + 1))
done
t_check curl_parallel_10 test $okn = 10
rc=0
mpx_nt_exec client timeout 30 curl -sS --max-time 10 --socks5-hostname "$MPX_NT_H_DSL4:1080" \
  http://nosuchhost.mpx.test/ -o /dev/null 2>"$MPX_NT_DIR/nx.err" || rc=$?
t_check curl_unknown_name_rep4 grep -qiE 'unreachable|\(4\)' "$MPX_NT_DIR/nx.err"
stats=$(mpx_px_stats pa)
echo "stats: $stats"
t_check stats_socks_ok test "$(jq -r '.socks_replies["0"]' <<<"$stats")" = 14
t_check stats_resolves test "$(jq -r .resolves <<<"$stats")" = 13
t_check stats_rep4 test "$(jq -r '.socks_replies["4"]' <<<"$stats")" = 1
t_check stats_plain_tcp_clients test "$(jq -r .client_fallback <<<"$stats")" = 15
t_check stats_bytes_down test "$(jq -r .bytes_down <<<"$stats")" -ge 70000000
t_done
