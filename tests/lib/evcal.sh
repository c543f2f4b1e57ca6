# Helpers for tests that read a report's evidence table (exp_tails, sim_calibrate).
# shellcheck shell=bash
# evcal_rows REPORT [VARIANT]: the evidence table's calibrated column, "signal cal explained
# remaining" per row (the cell "62.6 (+0.48 / -0.27)"; "-" for a missing number); VARIANT: the
# table "## Evidence table — variant `VARIANT`" (none: the single "## Evidence table")
evcal_rows() {
  awk -v v="${2:-}" '
    /^## Evidence table/ { on = (v == "" || index($0, "`" v "`") > 0); c = 0; next }
    /^## / { on = 0 }
    on && /^\| signal \|/ { n = split($0, h, / \| /); for (i = 1; i <= n; i++) if (h[i] ~ /^calibrated simulated TTFB/) c = i; next }
    on && c && /^\| `/ { split($0, f, / \| /); s = f[1]; gsub(/^\| `|`$/, "", s); x = f[c]
      gsub(/[()\/]/, " ", x); gsub(/–/, "-", x); print s, x }' "$1"
}
# evcal_bad REPORT VARIANT SUMMARY [MAXREM]: each row against summary.json: the calibrated median
# (sim.json .calibrated, to the cell's 0.1 ms), explained = calibrated - simulated and remaining =
# measured - calibrated (to 0.01 ms); with MAXREM also |remaining| <= MAXREM. Prints what differs.
evcal_bad() {
  evcal_rows "$1" "$2" | jq -R -r --slurpfile s "$3" --arg v "$2" --arg mx "${4:-}" '
    split(" ") | map(select(length > 0)) as [$sig, $cal, $ex, $rem]
    | ($s[0].variants | map(select($v == "" or .name == $v)) | .[0]) as $V
    | ($V.signals[] | select(.signal == $sig)) as $r
    | $V.sim.calibrated.signals[$sig].p50 as $c
    | def off($x; $want; $tol): ($x | tonumber? // null) as $n | $n == null or $want == null or (($n - $want) | fabs) > $tol;
      [ (if off($cal; $c; 0.0501) then "calibrated \($cal) vs \($c)" else empty end),
        (if off($ex; $c - $r.simulated.p50; 0.00501) then "explained \($ex) vs \($c - $r.simulated.p50)" else empty end),
        (if off($rem; $r.ttfb_ms.p50 - $c; 0.00501) then "remaining \($rem) vs \($r.ttfb_ms.p50 - $c)" else empty end),
        (if $mx != "" and ((($rem | tonumber? // 1e9) | fabs) > ($mx | tonumber)) then "remaining \($rem) > \($mx)" else empty end) ]
    | select(length > 0) | "\($sig): \(join(", "))"'
}
