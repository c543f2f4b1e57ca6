# Proxy/proxy rows (chain.sh mpx_chain_join): one variant's connections (slurped as .), its
# analyzer records $an (+ "link"), the analyzer's three-leg lines $legs (mpx-analyze --legs;
# may be empty), $ps the proxy<->server links ("wan"), $cpe the CPE's addresses.
# A cpe: row's "a" becomes the CPE's access connection (so the SYN option bytes, SYN data,
# MPTCP and subflows of the evidence are the CPE's), "a_lan" the LAN client's leg, "legs" the
# per-leg times (µs from the LAN SYN). Other rows pass unchanged.
def hp: tostring | gsub("[\\[\\]]"; "");
def host: hp | sub(":[0-9]+$"; "");
def slim: if . == null then null else {link, client, server, mptcp, subflows, syn_opt_bytes, syn_opt_left,
  syn_data_len: (.tfo.syn_data_len // 0), req_in_syn, t0_epoch_us, hs_rtt_us, ttfb_us, t_us} end;
def abs: if . < 0 then -. else . end;
($ps | split("+")) as $psl
| [$an[] | select(.client != null)] as $recs
| ([$recs[] | {key: (.client | hp), value: .}] | group_by(.key) | map({key: .[0].key, value: map(.value)}) | from_entries) as $byclient
| [$legs[] | select(.type == "legs" and .lan != null)] as $L
| .[] | . as $c
| if ($c.signal | startswith("cpe:") | not) or $c.a == null then $c
  else
    $c.a.t0_epoch_us as $t0
    | (($c.t_start_epoch // 0) * 1000000) as $w0 | ($w0 + ($c.t_step_s // 0) * 1000000) as $w1
    # the analyzer's join: the legs line of this LAN connection (its client address:port, the
    # SYN closest to the LAN leg's)
    | ([$L[] | select((.lan.client | hp) == ($c.a.client | hp))] | sort_by((.t0_epoch_us + (.lan.t_us.syn // 0) - $t0) | abs) | .[0]) as $lg
    | (if $lg != null and $lg.access != null then
         (($byclient[$lg.access.client | hp] // []) | map(select(.link | IN($psl[]) | not))
           | sort_by((.t0_epoch_us - ($lg.t0_epoch_us + ($lg.access.t_us.syn // 0))) | abs) | .[0])
       else
         # the time window: the CPE's first connection starting in this step, not on a ps link
         ([$recs[] | select((.client | host) | IN($cpe[])) | select(.link | IN($psl[]) | not)
           | select(.t0_epoch_us >= $t0 and .t0_epoch_us >= $w0 - 1000 and .t0_epoch_us <= $w1)] | sort_by(.t0_epoch_us) | .[0])
       end) as $acc
    | (if $lg != null and $lg.wan != null then
         (($byclient[$lg.wan.client | hp] // []) | map(select(.link | IN($psl[])))
           | sort_by((.t0_epoch_us - ($lg.t0_epoch_us + ($lg.wan.t_us.syn // 0))) | abs) | .[0])
       else
         ([$recs[] | select(.link | IN($psl[])) | select((.client | host) != ($c.a.client | host))
           | select(.t0_epoch_us >= $t0 and .t0_epoch_us >= $w0 - 1000 and .t0_epoch_us <= $w1)] | sort_by(.t0_epoch_us) | .[0])
       end) as $wan
    | $c + {a_lan: ($c.a | slim), a_access: ($acc | slim), a_wan: ($wan | slim),
            mptcp_lan: $c.mptcp, mptcp: (if $acc != null then $acc.mptcp else null end)}
      + (if $acc != null then {a: $acc} else {} end)
      + {legs: (if $lg != null then {source: "mpx-analyze --legs", complete: $lg.complete, key: $lg.key,
                  hag_connect_at: $lg.hag_connect_at, gaps_us: $lg.gaps_us,
                  syn_carries_request: ($lg.access.syn_carries_request // null),
                  access_subflows: ($lg.access.subflows // null), refused: ($lg.access.refused // null),
                  relay: ($lg.lan.relay // null)}
                else {source: "time window", complete: ($acc != null and $wan != null),
                  gaps_us: {
                    lan_syn_to_access_syn: (if $acc != null then $acc.t0_epoch_us - $t0 else null end),
                    access_syn_to_wan_syn: (if $acc != null and $wan != null then $wan.t0_epoch_us - $acc.t0_epoch_us else null end),
                    lan_ttfb: $c.a.ttfb_us, access_ttfb: ($acc.ttfb_us // null), wan_ttfb: ($wan.ttfb_us // null)},
                  syn_carries_request: ($acc.req_in_syn // null), access_subflows: ($acc.subflows // null)} end)}
  end
