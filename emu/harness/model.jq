# mpxlab analytic TTFB model (DESIGN.md "The analytic model"), evaluated for $rcp / $rps (ms),
# one entry per formula id of the signal registry (the `model` field of `mpx-wire signals`);
# the harness gives every registry row its formula (collect.sh mpx_variant_describe). The
# formulas and their assumptions: modellib.jq (run with -L emu/harness).
include "modellib";

if ($ARGS.named.chain // null) == null then
  model_json($rcp; $rps; $tfo)
else
  # $chain: {R_lan_ms, R_acc_ms, R_ps_ms, policy, rows: [{name, wait_ms, row: registry row}]}
  $ARGS.named.chain as $ch | ($ch.R_lan_ms + $ch.R_acc_ms) as $rcpe
  | (2 * ($rcpe + $ch.R_ps_ms)) as $direct | chain_g($ch.R_acc_ms; $ch.R_ps_ms) as $g
  | {R_cp_ms: $rcpe, R_lan_ms: $ch.R_lan_ms, R_acc_ms: $ch.R_acc_ms, R_ps_ms: $ch.R_ps_ms, direct_ttfb_ms: $direct,
     signals: ($ch.rows | map(chain_id(.row; .wait_ms; $ch.policy) as $id | $g[$id] as $x
       | {key: .name, value: {ttfb_ms: (2 * $ch.R_lan_ms + $x.ttfb_ms), g_ms: $x.ttfb_ms, formula_id: ("chain:" + $id),
          rtts_before_data: $x.rtts_before_data, wait_ms: .wait_ms,
          formula: "2 R_lan + \($x.formula)",
          derivation: "Proxy/proxy: the LAN handshake and the LAN request reach the CPE at 3 R_lan/2, the response the LAN client R_lan/2 after it reaches the CPE (2 R_lan in all); between, the CPE is the client (R_cp = R_acc) with W = \(.wait_ms) ms: \($x.derivation)",
          extra_rtt: (if $rcpe > 0 then ((2 * $ch.R_lan_ms + $x.ttfb_ms - $direct) / $rcpe * 1000 | round / 1000) else null end)}})
       | from_entries)}
end
