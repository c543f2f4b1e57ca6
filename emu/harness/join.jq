# Joins one variant's client JSON lines with the analyzer's per-connection records.
# $v variant, $cp the first client<->proxy link, $cl client "conn" lines, $an analyzer "conn"
# lines (+ "link"), $steps steps.csv text ("variant,rep,step,signal,t0,t1,rc").
# One output object per step (a step without client output becomes a failed row).
# (gsub only where there is a bracket: jq 1.6's gsub costs ~50 us a call, ~1000 calls a run)
def hp: tostring | if contains("[") or contains("]") then gsub("[\\[\\]]"; "") else . end;
# microseconds between an analyzer record's first SYN and the client's start (0 when either
# clock is missing)
def dt($c): if .t0_epoch_us == null or $c.t0_real_us == null then 0
  else ((.t0_epoch_us - $c.t0_real_us) | fabs) end;
# the records by address and the client lines by tag, each list in input order (reduce: jq 1.6's
# group_by and from_entries took ~0.1 s of CPU for these ~1000 small objects)
(reduce ($an[] | select(.client != null)) as $r ({}; .[$r.client | hp] += [$r])) as $byclient
| (reduce ($cl[] | select(.tag != null)) as $c ({}; .[$c.tag | if type == "string" then . else tojson end] += [$c])) as $bytag
| $steps | split("\n")[] | select(length > 0) | split(",")
| select(.[0] == $v)
| {variant: .[0], rep: (.[1] | tonumber), step: (.[2] | tonumber), signal: .[3],
   t_start_epoch: (.[4] | tonumber), t_step_s: ((.[5] | tonumber) - (.[4] | tonumber)), step_rc: (.[6] | tonumber)} as $s
| ($bytag["\($s.variant)/\($s.rep)/\($s.step)"] // [null])[] as $c
| if $c == null then
    $s + {ok: false, verified: false, error: "mpx-client wrote no connection line (exit \($s.step_rc))",
          mptcp: null, a: null, a_matches: 0}
  else
    # a client port comes back within a run: of the records with this address:port, keep the
    # ones of this connection (first SYN within 200 ms of the closest one; the links of one
    # connection see it a few one-way delays apart)
    ($byclient[($c.local // "") | hp] // []) as $all
    | ($all | map(dt($c)) | min // 0) as $best
    | [$all[] | select(dt($c) <= $best + 200000)] as $m
    | ([$m[] | select(.link == $cp)] + [$m[] | select(.link != $cp)]) as $ord
    | $s + ($c | del(.type, .tag, .signal, .seq)) + {seq: $c.seq}
      + {a: ($ord[0] // null), a_matches: ($m | length),
         a_links: ([$m[].link] | unique)}
  end
